"""Rendering a :class:`~conformance.report.Report` as text, JSON, JUnit XML, Markdown or HTML."""

import json
import math
import re
import xml.etree.ElementTree as ET

from conformance.html_report import render_html
from conformance.report import STATUSES, result_text
from conformance.text_report import render_text, stopped_text

FORMATS = ("text", "json", "junit", "markdown", "html")


def _counts_line(counts):
    shown = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    return ", ".join(shown) if shown else "no checks run"


def _strict_json_values(value):
    """``value`` with every NaN or infinity written as a string, which strict JSON parsers
    accept (``json.dumps`` would write the bare ``NaN`` they reject)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {key: _strict_json_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json_values(item) for item in value]
    return value


def to_json(report):
    return json.dumps(_strict_json_values(report.to_dict()), indent=2, allow_nan=False)


#: What XML 1.0 forbids in a document: control characters other than tab, newline and
#: carriage return, lone surrogates, and U+FFFE/U+FFFF.
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text):
    """``text`` with each character XML 1.0 cannot hold replaced by its ``\\xNN`` escape."""
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", str(text))


def to_text(report, verbosity=0):
    return render_text(report, verbosity)


def to_html(report):
    return render_html(report)


def to_markdown(report):
    env = report.to_dict()["environment"]
    lines = [
        "# keras-conformance report",
        "",
        f"Python {env['python']}, TensorFlow {env['tensorflow']}, Keras {env['keras']}",
    ]
    if report.stopped:
        lines += ["", f"**{stopped_text(report)}**"]
    for target in report.targets:
        lines += [
            "",
            f"## `{target.target}`: {'passed' if target.passed else 'FAILED'}",
            "",
            f"{target.stopped or _counts_line(target.counts())}",
            "",
            "| check | family | status | seconds | message |",
            "|---|---|---|---:|---|",
        ]
        for r in target.results:
            message = result_text(r).replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{r.check}` | {r.family} | {r.status} | {r.seconds:.2f} | {message} |")
    return "\n".join(lines) + "\n"


def to_junit(report):
    suites = ET.Element("testsuites", name="keras-conformance")
    if report.stopped:
        suites.set("stopped", xml_safe(report.stopped))
    for target in report.targets:
        counts = target.counts()
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=xml_safe(target.target),
            tests=str(len(target.results)),
            failures=str(counts["failed"] + (counts["xpass"] if target.strict else 0)),
            errors=str(counts["error"]),
            skipped=str(counts["skipped"] + counts["xfail"]),
            time=f"{sum(r.seconds for r in target.results):.3f}",
        )
        if target.stopped is not None:
            suite.set("stopped", xml_safe(target.stopped))
        for r in target.results:
            case = ET.SubElement(
                suite, "testcase", classname=xml_safe(target.target), name=r.check, time=f"{r.seconds:.3f}"
            )
            text = xml_safe(result_text(r))
            if r.status == "failed" or (r.status == "xpass" and target.strict):
                ET.SubElement(case, "failure", message=text, type=r.family)
            elif r.status == "error":
                ET.SubElement(case, "error", message=text, type=r.family)
            elif r.status in ("skipped", "xfail"):
                ET.SubElement(case, "skipped", message=f"{r.status}: {text}")
            elif text:  # a passing check's note
                ET.SubElement(case, "system-out").text = text
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


_RENDERERS = {"text": to_text, "json": to_json, "junit": to_junit, "markdown": to_markdown,
              "html": to_html}


def render(report, fmt, verbosity=0):
    """``report`` in ``fmt``; ``verbosity`` (-1 summary only, 0 default, 1 every check)
    shapes the text report only."""
    if fmt not in _RENDERERS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt == "text":
        return to_text(report, verbosity)
    return _RENDERERS[fmt](report)
