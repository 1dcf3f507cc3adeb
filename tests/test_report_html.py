"""The one-page HTML report: a targets x families grid, the messages, the environment."""

from html.parser import HTMLParser

from conformance.formats import render
from conformance.report import UNUSABLE_CHECK, CheckResult, Report, TargetReport, environment


class _Page(HTMLParser):
    """Collects the grid's cells, the detail items and anything that could reach the network."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.section = None
        self.header, self.rows, self.footer = [], [], []
        self.items, self.environment = [], {}
        self.external, self.stack, self.text = [], [], []
        self.cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name) and not attrs[name].startswith("#"):
                self.external.append((tag, attrs[name]))
        if tag == "link":
            self.external.append((tag, attrs.get("href")))
        if tag in ("thead", "tbody", "tfoot"):
            self.section = tag
        if tag == "tr" and self.section == "tbody":
            self.rows.append({"attrs": attrs, "cells": []})
        if tag in ("th", "td") and self.section:
            self.cell = {"tag": tag, "attrs": attrs, "text": ""}
        if tag == "li":
            self.items.append({"attrs": attrs, "text": ""})
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self.cell is not None:
            cell, self.cell = self.cell, None
            if self.section == "thead":
                self.header.append(cell)
            elif self.section == "tfoot":
                self.footer.append(cell)
            elif self.section == "tbody":
                self.rows[-1]["cells"].append(cell)
        if tag in ("thead", "tbody", "tfoot"):
            self.section = None
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"] += data
        if "li" in self.stack and self.items:
            self.items[-1]["text"] += data
        if self.stack[-2:] == ["div", "dt"]:
            self.text = [data]
        elif self.stack[-2:] == ["div", "dd"] and self.text:
            self.environment[self.text[0]] = data


def _result(check, family, status, message="", seconds=0.25):
    return CheckResult(check=check, family=family, status=status, message=message, seconds=seconds)


def _report():
    good = TargetReport("pkg.layers:Good", [
        _result("check_a", "construction", "passed"),
        _result("check_b", "construction", "skipped", "not applicable"),
        _result("check_c", "shapes", "passed", seconds=1.0),
    ])
    broken = TargetReport("pkg.layers:Broken", [
        _result("check_a", "construction", "passed"),
        _result("check_b", "construction", "xfail", "expected to fail (known): saw <b>bold</b>"),
        _result("check_c", "shapes", "failed", "check_c: shapes agree. Expected (3, 4); saw (3, 7)."),
    ])
    unusable = TargetReport("pkg.layers:Unbuildable", [
        _result(UNUSABLE_CHECK, "construction", "error", "could not be built: TypeError: units"),
    ], error="could not be built: TypeError: units")
    return Report(targets=[good, broken, unusable])


def _page(report):
    page = _Page()
    page.feed(render(report, "html"))
    page.close()
    return page


def test_grid_has_a_row_per_target_and_a_column_per_family():
    page = _page(_report())
    assert [c["text"] for c in page.header] == ["target", "construction", "shapes", "total"]
    assert [r["attrs"]["data-target"] for r in page.rows] == [
        "pkg.layers:Good", "pkg.layers:Broken", "pkg.layers:Unbuildable"]
    assert [r["attrs"]["data-verdict"] for r in page.rows] == ["passed", "failed", "error"]


def test_each_cell_takes_the_worst_status_of_its_family():
    page = _page(_report())
    statuses = [[c["attrs"].get("data-status") for c in row["cells"][1:]] for row in page.rows]
    assert statuses[0] == ["passed", "passed", "passed"]
    assert statuses[1] == ["xfail", "failed", "failed"]
    good_construction = page.rows[0]["cells"][1]
    assert "status-passed" in good_construction["attrs"]["class"]
    assert good_construction["text"] == "1 passed1 skipped0.50 s"  # one line each


def test_a_target_that_could_not_be_built_spans_the_families_in_one_error_cell():
    row = _page(_report()).rows[2]
    error_cell = row["cells"][1]
    assert error_cell["attrs"]["colspan"] == "2" and error_cell["attrs"]["data-status"] == "error"
    assert "could not be built and called" in error_cell["text"]


def test_seconds_per_family_are_totalled_in_the_footer():
    footer = {c["attrs"].get("data-family"): c["text"] for c in _page(_report()).footer if c["tag"] == "td"}
    assert footer == {"construction": "1.00 s", "shapes": "1.25 s", "total": "2.50 s"}


def test_failures_errors_and_xfails_are_listed_with_their_messages_escaped():
    page = _page(_report())
    listed = {(i["attrs"]["data-check"], i["attrs"]["data-status"]): i["text"] for i in page.items}
    assert set(listed) == {("check_c", "failed"), ("check_b", "xfail"), (UNUSABLE_CHECK, "error")}
    assert "Expected (3, 4); saw (3, 7)." in listed[("check_c", "failed")]
    assert "saw <b>bold</b>" in listed[("check_b", "xfail")]  # shown as text, not markup
    assert "<b>bold</b>" not in render(_report(), "html").replace("&lt;b&gt;", "")


def test_the_environment_is_shown_and_nothing_is_fetched():
    page = _page(_report())
    env = environment()
    assert page.environment["Python"] == env["python"]
    assert page.environment["TensorFlow"] == env["tensorflow"]
    assert page.environment["Keras"] == env["keras"]
    assert page.external == []
    assert "<style>" in render(_report(), "html") and "<script" not in render(_report(), "html")


def test_a_clean_run_says_nothing_needs_a_look():
    good = _report().targets[0]
    html_text = render(Report(targets=[good]), "html")
    assert "Nothing needs a look" in html_text and "exit code 0" in html_text
