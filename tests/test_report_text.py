"""The text report a person reads: a summary line per target, then only what needs a look."""

import json

import xml.etree.ElementTree as ET

import pytest

from keras_compat import version_label
from conformance.formats import FORMATS, render
from conformance.report import UNUSABLE_CHECK, CheckResult, Report, TargetReport

CONTRACT = "Every variable the layer holds is tracked in its weights (no raw, untracked tf.Variable)."
SAVE_CONTRACT = ("A model holding the target, saved as .keras and loaded in safe mode, has the same "
                 "weights and outputs.")
#: What every result below carries as its message: renderers must not use it.
GARBAGE = "GARBAGE-MESSAGE check_variables_tracked: Expected nonsense; saw rubbish [Keras 0.0]"


def _result(check, status, family="construction", seconds=0.5, **fields):
    return CheckResult(check=check, family=family, status=status, message=GARBAGE, seconds=seconds,
                       **fields)


def _report():
    good = TargetReport("pkg.layers:Good", [
        _result("check_no_weights_after_init", "passed"),
        _result("check_training_argument_exposed", "skipped", "modes",
                reason="output does not depend on training"),
    ])
    broken = TargetReport("pkg.layers:Broken", [
        _result("check_no_weights_after_init", "passed"),
        _result("check_variables_tracked", "failed", contract=CONTRACT, expected="add_weight()",
                seen="layer.w untracked"),
        _result("check_keras_save_load", "xfail", "serialization", contract=SAVE_CONTRACT,
                expected="load_model() to rebuild the model", seen="TypeError: Could not locate class",
                reason="not registered"),
        _result("check_mixed_precision", "xpass", "dtype", reason="pins float32"),
    ])
    unusable = TargetReport("pkg.layers:Unbuildable", [
        _result(UNUSABLE_CHECK, "error", reason="pkg.layers:Unbuildable({'units': 4}) could not be built and "
                "called on inputs of shape (3, 7): TypeError: unexpected keyword argument 'units'"),
    ], error="pkg.layers:Unbuildable({'units': 4}) could not be built and called on inputs of shape "
             "(3, 7): TypeError: unexpected keyword argument 'units'")
    return Report(targets=[good, broken, unusable])


def test_one_summary_line_per_target_with_counts_and_seconds():
    lines = render(_report(), "text").splitlines()
    good, broken, unusable = lines[2:5]  # after the environment line and a blank one
    assert good.split()[:2] == ["PASSED", "pkg.layers:Good"]
    assert "1 passed, 1 skipped" in good and good.endswith("1.0s")
    assert broken.split()[:2] == ["FAILED", "pkg.layers:Broken"]
    assert "1 passed, 1 failed, 1 xpass, 1 xfail" in broken and broken.endswith("2.0s")
    assert unusable.startswith("ERROR") and "could not be built and called" in unusable
    assert lines[-1].startswith("1 of 3 target(s) passed, 1 could not be built and called")


def test_only_failures_errors_xpasses_and_xfails_are_listed_with_their_messages():
    text = render(_report(), "text")
    assert "output does not depend on training" not in text  # a skip's reason
    assert "check_no_weights_after_init" not in text  # a pass
    failed = next(l for l in text.splitlines() if "FAIL " in l)
    # The failure keeps its contract; the check id and the versions are not repeated.
    assert failed == f"  FAIL  check_variables_tracked: {CONTRACT} Expected add_weight(); saw layer.w untracked."
    xfail = next(l for l in text.splitlines() if "xfail check_keras_save_load" in l)
    assert xfail == ("  xfail check_keras_save_load: (not registered) Expected load_model() to rebuild "
                     "the model; saw TypeError: Could not locate class.")
    assert "  XPASS check_mixed_precision: expected to fail (pins float32) but passed" in text
    assert "  ERROR pkg.layers:Unbuildable({'units': 4}) could not be built" in text


def test_failures_come_before_expected_failures_within_a_target():
    lines = render(_report(), "text").splitlines()
    start = lines.index("pkg.layers:Broken")
    marks = [line.split()[0] for line in lines[start + 1:start + 4]]
    assert marks == ["FAIL", "XPASS", "xfail"]


def test_verbose_lists_every_check_and_whole_messages():
    text = render(_report(), "text", verbosity=1)
    assert "check_no_weights_after_init" in text and "output does not depend on training" in text
    assert "expected to fail (not registered): A model holding" in text
    assert "pkg.layers:Unbuildable: ERROR" in text


def test_quiet_keeps_the_summary_lines_only():
    lines = render(_report(), "text", verbosity=-1).splitlines()
    assert len(lines) == 1 + 1 + 3 + 1 + 1  # header, blank, one per target, blank, total
    assert not any(line.startswith("  ") for line in lines)


def test_a_target_that_could_not_be_built_is_one_json_entry_with_its_error():
    report = json.loads(render(_report(), "json"))
    unusable = report["targets"][2]
    assert unusable["passed"] is False
    assert unusable["error"].startswith("pkg.layers:Unbuildable({'units': 4}) could not be built")
    assert [r["status"] for r in unusable["results"]] == ["error"]
    assert report["targets"][0]["error"] is None


def test_exit_code_precedence_broken_contract_then_unusable_target():
    good, broken, unusable = _report().targets
    assert Report(targets=[good]).exit_code == 0
    assert Report(targets=[good, unusable]).exit_code == 4
    assert Report(targets=[unusable, broken, good]).exit_code == 1
    broken_but_expected = TargetReport("pkg:X", [_result("check_a", "xpass", "but passed")])
    assert Report(targets=[broken_but_expected]).exit_code == 0
    broken_but_expected.strict = True
    assert Report(targets=[broken_but_expected]).exit_code == 1


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "json"])
def test_renderers_compose_from_the_fields_never_from_the_message(fmt):
    text = render(_report(), fmt, verbosity=1) if fmt == "text" else render(_report(), fmt)
    assert "GARBAGE" not in text and "rubbish" not in text
    assert "Expected add_weight(); saw layer.w untracked." in text
    assert "not registered" in text and "Could not locate class" in text
    assert "unexpected keyword argument" in text


def test_the_json_report_carries_the_fields_and_keeps_the_message():
    results = json.loads(render(_report(), "json"))["targets"][1]["results"]
    failed = next(r for r in results if r["status"] == "failed")
    assert failed["contract"] == CONTRACT
    assert (failed["expected"], failed["seen"], failed["hint"]) == ("add_weight()", "layer.w untracked", None)
    xfail = next(r for r in results if r["status"] == "xfail")
    assert xfail["reason"] == "not registered"
    assert failed["message"] == GARBAGE  # kept for readers of the older report


def test_the_versions_are_said_once_per_report():
    report = _report()
    text = render(report, "text", verbosity=1)
    assert text.count("TensorFlow") == 1 and version_label() not in text.split("\n", 1)[1]
    assert json.loads(render(report, "json"))["environment"]["versions"] == version_label()


def test_junit_holds_no_character_xml_forbids():
    bad = "bad \x00 byte \x1b[31m colour \x07 bell \ud800 surrogate"
    report = Report(targets=[TargetReport("pkg:Bad\x01", [
        _result("check_a", "failed", contract="C.", expected="x", seen=bad),
        _result("check_b", "error", reason=bad),
    ])])
    root = ET.fromstring(render(report, "junit").encode("utf-8", "backslashreplace"))
    failure = root.find("testsuite/testcase[@name='check_a']/failure")
    assert "\\x00 byte" in failure.get("message") and "\\x1b[31m" in failure.get("message")


def test_json_is_strict_with_non_finite_numbers():
    report = Report(targets=[TargetReport("pkg:Nan", [_result("check_a", "passed")],
                                          called_with={"kwargs": {"scale": float("nan"), "top": float("inf")}})])
    text = render(report, "json")
    parsed = json.loads(text, parse_constant=lambda name: pytest.fail(f"non-strict JSON constant {name}"))
    assert parsed["targets"][0]["kwargs"] == {"scale": "nan", "top": "inf"}


def test_a_stopped_run_says_so_in_every_format():
    finished = TargetReport("pkg:First", [_result("check_a", "passed")])
    cut = TargetReport("pkg:Second", [_result("check_a", "passed")],
                       stopped="interrupted by SIGTERM after 1 of 40 checks")
    not_run = TargetReport("pkg:Third", stopped="not run: interrupted by SIGTERM")
    report = Report(targets=[finished, cut, not_run], stopped="interrupted by SIGTERM", signal=15)
    assert report.exit_code == 143
    for fmt in FORMATS:
        assert "interrupted by SIGTERM" in render(report, fmt), fmt
    parsed = json.loads(render(report, "json"))
    assert parsed["complete"] is False and parsed["stopped"] == "interrupted by SIGTERM"
    assert [t["stopped"] for t in parsed["targets"]][0] is None
    assert "STOPPED" in render(report, "text")


def test_exit_code_of_a_run_whose_budget_ran_out():
    good, broken, unusable = _report().targets
    not_run = TargetReport("pkg:Later", stopped="not run: the run's budget of 5 s ran out")
    assert Report(targets=[good, not_run], stopped="the run's budget of 5 s ran out").exit_code == 5
    assert Report(targets=[good, unusable, not_run], stopped="budget").exit_code == 4
    assert Report(targets=[broken, not_run], stopped="budget").exit_code == 1
    assert Report(targets=[broken], stopped="interrupted by SIGINT", signal=2).exit_code == 130
    assert "1 not run" in render(Report(targets=[good, not_run], stopped="budget"), "text")


def _noted_report():
    noted = _result("check_graph_matches_eager", "passed", "graph",
                    contract="Calling the layer inside tf.function gives the same outputs.",
                    note="the inference outputs agreed up to their order along the last axis")
    return Report(targets=[TargetReport("pkg.layers:TopK", [noted, _result("check_build_runs_once", "passed")])])


def test_a_passing_checks_note_is_shown_with_verbose_and_in_json():
    note = "the inference outputs agreed up to their order along the last axis"
    lines = render(_noted_report(), "text", verbosity=1).splitlines()
    row = next(i for i, line in enumerate(lines) if "check_graph_matches_eager" in line)
    assert lines[row + 1] == f"        note: {note}"
    assert "check_build_runs_once" in lines[row + 2]  # a pass without a note gets no second line
    assert note not in render(_noted_report(), "text")  # the summary lists what needs a look
    saved = json.loads(render(_noted_report(), "json"))["targets"][0]["results"]
    assert [r["note"] for r in saved] == [note, None]


@pytest.mark.parametrize("fmt", ["markdown", "junit", "html"])
def test_a_passing_checks_note_is_in_the_other_formats(fmt):
    text = render(_noted_report(), fmt)
    assert "agreed up to their order along the last axis" in text
    if fmt == "junit":
        case = ET.fromstring(text).find(".//testcase[@name='check_graph_matches_eager']")
        assert case.find("system-out").text.startswith("note: the inference outputs agreed")
        assert case.find("failure") is None and case.find("skipped") is None
