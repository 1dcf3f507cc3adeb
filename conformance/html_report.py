"""A one-page HTML report a CI can publish: targets x families, coloured by status.

Self-contained: inline CSS, no script, nothing fetched. Each cell shows the worst status of
that family's checks on that target, its counts and its seconds; the failures, errors,
unexpected passes and expected failures are listed below the grid with their messages.
"""

import html

from conformance.report import STATUSES, result_text
from conformance.text_report import COUNT_ORDER, MARKS, NOTABLE, stopped_text, target_verdict

#: Worst first: a cell takes the colour of the worst status among its checks.
SEVERITY = ("error", "failed", "xpass", "xfail", "passed", "skipped")

_CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
       color: #1f2328; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
h3 { font-size: 14px; margin: 16px 0 6px; font-family: ui-monospace, monospace; }
.summary { margin: 0 0 12px; font-weight: 600; }
dl.environment { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 0 0 16px; color: #57606a; }
dl.environment div { display: flex; gap: 6px; }
dl.environment dt { font-weight: 600; }
dl.environment dd { margin: 0; }
table.grid { border-collapse: collapse; }
table.grid th, table.grid td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; }
table.grid thead th { background: #f6f8fa; text-align: center; }
table.grid thead th { font-size: 12px; }
table.grid tbody th { text-align: left; white-space: nowrap; }
table.grid tbody th .name { font-family: ui-monospace, monospace; font-weight: 600; }
table.grid tbody th .where { font-family: ui-monospace, monospace; font-weight: 400; font-size: 11px;
                             color: #57606a; }
table.grid tfoot th, table.grid tfoot td { background: #f6f8fa; color: #57606a; text-align: right; }
td.cell { min-width: 64px; font-size: 12px; white-space: nowrap; }
td.cell a { color: inherit; text-decoration: none; }
.seconds { color: #57606a; font-size: 11px; }
.verdict { display: inline-block; margin-left: 8px; padding: 0 6px; border-radius: 3px;
           font-size: 11px; font-family: system-ui, sans-serif; font-weight: 700; }
.status-passed { background: #dafbe1; color: #116329; }
.status-failed { background: #ffd8d3; color: #a40e26; }
.status-error { background: #ecd8f5; color: #6e2594; }
.status-xpass { background: #ffe2bf; color: #953800; }
.status-xfail { background: #fff1c2; color: #7d5a00; }
.status-skipped { background: #eaeef2; color: #57606a; }
.status-none { background: #ffffff; color: #8c959f; }
ul.results { list-style: none; padding: 0; margin: 0; }
ul.results li { padding: 6px 8px; margin: 4px 0; border-radius: 4px; }
ul.results code { font-weight: 600; }
.family { color: #57606a; font-size: 12px; margin-left: 6px; }
.message { margin: 2px 0 0; white-space: pre-wrap; color: #1f2328; font-size: 13px; }
.legend span { display: inline-block; padding: 0 8px; margin-right: 6px; border-radius: 3px; }
"""


def render_html(report):
    env = report.to_dict()["environment"]
    families = _families(report)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
        "<title>keras-conformance report</title>",
        f"<style>{_CSS}</style></head>",
        "<body>",
        "<h1>keras-conformance report</h1>",
        f'<p class="summary">{_e(_summary(report))}</p>',
        f'<p class="stopped status-error">{_e(stopped_text(report))}</p>' if report.stopped else "",
        _environment(report, env),
        _grid(report, families),
        _legend(),
        _details(report),
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part)


def _e(text):
    return html.escape(str(text), quote=True)


def _families(report):
    """The families of the checks that ran, in catalogue order (the order results come in)."""
    seen = []
    for target in report.targets:
        if target.error is None:
            for result in target.results:
                if result.family not in seen:
                    seen.append(result.family)
    return seen


def _summary(report):
    passed = sum(1 for t in report.targets if t.passed)
    unusable = sum(1 for t in report.targets if t.error is not None)
    text = f"{passed} of {len(report.targets)} target(s) passed"
    if unusable:
        text += f"; {unusable} could not be built and called"
    return f"{text} (exit code {report.exit_code})"


def _environment(report, env):
    tool = report.to_dict()["tool"]
    items = [("Python", env["python"]), ("TensorFlow", env["tensorflow"]), ("Keras", env["keras"]),
             (tool["name"], tool["version"])]
    rows = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in items)
    return f'<dl class="environment">{rows}</dl>'


def _worst(statuses):
    return min(statuses, key=SEVERITY.index) if statuses else "none"


def _grid(report, families):
    head = "".join(f'<th scope="col">{_e(f)}</th>' for f in families)
    lines = [
        '<table class="grid">',
        f'<thead><tr><th scope="col">target</th>{head}<th scope="col">total</th></tr></thead>',
        "<tbody>",
    ]
    for index, target in enumerate(report.targets):
        lines.append(_grid_row(index, target, families))
    lines.append("</tbody>")
    lines.append(_seconds_row(report, families))
    lines.append("</table>")
    return "\n".join(lines)


def _grid_row(index, target, families):
    verdict = target_verdict(target)
    row_status = {"PASSED": "passed", "FAILED": "failed", "ERROR": "error", "STOPPED": "skipped"}[verdict]
    where, _, name = target.target.rpartition(":")
    heading = (f'<th scope="row"><span class="name">{_e(name or target.target)}</span>'
               f'<span class="verdict status-{row_status}">{verdict}</span>'
               f'<br><span class="where">{_e(where)}</span></th>')
    attrs = f'class="target" data-target="{_e(target.target)}" data-verdict="{row_status}"'
    if target.error is not None:
        cell = (f'<td class="cell status-error" data-status="error" colspan="{max(len(families), 1)}" '
                f'title="{_e(target.error)}"><a href="#target-{index}">could not be built and called</a></td>')
        total = (f'<td class="cell status-error" data-status="error">'
                 f'<span class="seconds">{target.seconds:.2f} s</span></td>')
        return f"<tr {attrs}>{heading}{cell}{total}</tr>"
    if target.stopped is not None and not target.results:
        cell = (f'<td class="cell status-skipped" data-status="skipped" colspan="{max(len(families), 1)}">'
                f'{_e(target.stopped)}</td>')
        return f"<tr {attrs}>{heading}{cell}<td></td></tr>"
    cells = [_family_cell(index, target, family) for family in families]
    total = _cell(index, target.results, 'data-family="total"')
    return f"<tr {attrs}>{heading}{''.join(cells)}{total}</tr>"


def _family_cell(index, target, family):
    results = [r for r in target.results if r.family == family]
    if not results:
        return f'<td class="cell status-none" data-family="{_e(family)}" data-status="none">&ndash;</td>'
    return _cell(index, results, f'data-family="{_e(family)}"')


def _cell(index, results, attrs):
    """A cell coloured by its worst status, with one line per status count and the seconds;
    its tooltip lists the checks."""
    status = _worst([r.status for r in results])
    counts = {s: 0 for s in STATUSES}
    for result in results:
        counts[result.status] += 1
    lines = "<br>".join(f"{counts[s]} {s}" for s in COUNT_ORDER if counts[s])
    if status in NOTABLE:
        lines = f'<a href="#target-{index}">{lines}</a>'
    title = "\n".join(f"{r.check}: {r.status}" + (f" ({r.note})" if r.note else "") for r in results)
    seconds = sum(r.seconds for r in results)
    return (f'<td class="cell status-{status}" {attrs} data-status="{status}" title="{_e(title)}">'
            f'{lines}<br><span class="seconds">{seconds:.2f} s</span></td>')


def _seconds_row(report, families):
    usable = [t for t in report.targets if t.error is None]
    cells = []
    for family in families:
        seconds = sum(r.seconds for t in usable for r in t.results if r.family == family)
        cells.append(f'<td data-family="{_e(family)}">{seconds:.2f} s</td>')
    total = sum(t.seconds for t in report.targets)
    return (f'<tfoot><tr class="seconds-per-family"><th scope="row">seconds</th>{"".join(cells)}'
            f'<td data-family="total">{total:.2f} s</td></tr></tfoot>')


def _legend():
    spans = "".join(f'<span class="status-{s}">{s}</span>' for s in SEVERITY)
    return f'<p class="legend">Worst status in the cell: {spans}</p>'


def _details(report):
    blocks = []
    for index, target in enumerate(report.targets):
        notable = sorted((r for r in target.results if r.status in NOTABLE),
                         key=lambda r: NOTABLE.index(r.status))
        if not notable:
            continue
        items = "".join(_detail_item(r) for r in notable)
        blocks.append(f'<section class="target-details" id="target-{index}">'
                      f"<h3>{_e(target.target)}</h3>"
                      f'<ul class="results">{items}</ul></section>')
    if not blocks:
        return "<h2>Nothing needs a look</h2><p>Every check passed or was skipped.</p>"
    return "<h2>Failures, errors and expected failures</h2>\n" + "\n".join(blocks)


def _detail_item(result):
    return (f'<li class="result status-{result.status}" data-check="{_e(result.check)}" '
            f'data-status="{result.status}"><span class="mark">{MARKS[result.status]}</span> '
            f'<code>{_e(result.check)}</code><span class="family">{_e(result.family)}</span>'
            f'<p class="message">{_e(result_text(result))}</p></li>')
