"""Rendering a :class:`~conformance.report.Report` as text, JSON, JUnit XML, Markdown or HTML."""

import json
import xml.etree.ElementTree as ET

from conformance.html_report import render_html
from conformance.report import STATUSES
from conformance.text_report import render_text

FORMATS = ("text", "json", "junit", "markdown", "html")


def _counts_line(counts):
    shown = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    return ", ".join(shown) if shown else "no checks run"


def to_json(report):
    return json.dumps(report.to_dict(), indent=2)


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
    for target in report.targets:
        lines += [
            "",
            f"## `{target.target}`: {'passed' if target.passed else 'FAILED'}",
            "",
            f"{_counts_line(target.counts())}",
            "",
            "| check | family | status | seconds | message |",
            "|---|---|---|---:|---|",
        ]
        for r in target.results:
            message = r.message.replace("|", "\\|").replace("\n", " ")
            lines.append(f"| `{r.check}` | {r.family} | {r.status} | {r.seconds:.2f} | {message} |")
    return "\n".join(lines) + "\n"


def to_junit(report):
    suites = ET.Element("testsuites", name="keras-conformance")
    for target in report.targets:
        counts = target.counts()
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=target.target,
            tests=str(len(target.results)),
            failures=str(counts["failed"] + (counts["xpass"] if target.strict else 0)),
            errors=str(counts["error"]),
            skipped=str(counts["skipped"] + counts["xfail"]),
            time=f"{sum(r.seconds for r in target.results):.3f}",
        )
        for r in target.results:
            case = ET.SubElement(
                suite, "testcase", classname=target.target, name=r.check, time=f"{r.seconds:.3f}"
            )
            if r.status == "failed" or (r.status == "xpass" and target.strict):
                ET.SubElement(case, "failure", message=r.message, type=r.family)
            elif r.status == "error":
                ET.SubElement(case, "error", message=r.message, type=r.family)
            elif r.status in ("skipped", "xfail"):
                ET.SubElement(case, "skipped", message=f"{r.status}: {r.message}")
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
