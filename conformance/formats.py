"""Rendering a :class:`~conformance.report.Report` as text, JSON, JUnit XML or Markdown."""

import json
import xml.etree.ElementTree as ET

from conformance.report import STATUSES

FORMATS = ("text", "json", "junit", "markdown")

_TEXT_MARKS = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "skipped": "skip",
    "xfail": "xfail",
    "xpass": "XPASS",
}


def _counts_line(counts):
    shown = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
    return ", ".join(shown) if shown else "no checks run"


def to_json(report):
    return json.dumps(report.to_dict(), indent=2)


def to_text(report):
    env = report.to_dict()["environment"]
    lines = [
        f"keras-conformance on Python {env['python']}, TensorFlow {env['tensorflow']}, "
        f"Keras {env['keras']}"
    ]
    for target in report.targets:
        lines.append("")
        lines.append(f"{target.target}: {'PASSED' if target.passed else 'FAILED'}")
        width = max((len(r.check) for r in target.results), default=10)
        for result in target.results:
            row = f"  {_TEXT_MARKS[result.status]:<5} {result.check:<{width}} {result.family:<13} {result.seconds:7.2f}s"
            if result.status not in ("passed",) and result.message:
                message = result.message
                if result.status in ("failed", "error", "xpass"):
                    # The check id and contract already lead the row: show what was seen.
                    message = message.split(": ", 1)[-1]
                row += f"\n        {message}"
            lines.append(row)
        lines.append(f"  {_counts_line(target.counts())}")
    return "\n".join(lines)


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


_RENDERERS = {"text": to_text, "json": to_json, "junit": to_junit, "markdown": to_markdown}


def render(report, fmt):
    if fmt not in _RENDERERS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return _RENDERERS[fmt](report)
