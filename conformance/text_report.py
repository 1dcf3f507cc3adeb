"""The text report a person reads.

By default: one summary line per target, then only what needs a look (failures, errors,
unexpected passes, expected failures), each with its message on one line. ``verbosity``
1 lists every check of every target; -1 keeps the summary lines only.
"""

from conformance.report import STATUSES, failure_sentence, result_text

MARKS = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "skipped": "skip",
    "xfail": "xfail",
    "xpass": "XPASS",
}
#: What the default report lists below the summary, most urgent first.
NOTABLE = ("error", "failed", "xpass", "xfail")
#: The order of the counts on a summary line.
COUNT_ORDER = ("passed", "failed", "error", "xpass", "xfail", "skipped")


def counts_text(counts, order=STATUSES):
    shown = [f"{counts[s]} {s}" for s in order if counts[s]]
    return ", ".join(shown) if shown else "no checks run"


def target_verdict(target):
    if target.error is not None:
        return "ERROR"
    if target.contract_failed:
        return "FAILED"
    if target.stopped is not None:
        return "STOPPED"
    return "PASSED" if target.passed else "FAILED"


def stopped_text(report):
    """The line that says a report is partial, or None for a complete run."""
    if report.stopped is None:
        return None
    return f"STOPPED EARLY: {report.stopped}; this report covers the checks that finished"


def render_text(report, verbosity=0):
    lines = [_header(report)]
    if stopped_text(report):
        lines.append(stopped_text(report))
    if verbosity > 0:
        lines += _every_check(report)
        return "\n".join(lines)
    lines.append("")
    lines += _summary_lines(report)
    if verbosity == 0:
        lines += _notable_results(report)
    lines += ["", _total_line(report)]
    return "\n".join(lines)


def _header(report):
    env = report.to_dict()["environment"]
    return (f"keras-conformance on Python {env['python']}, TensorFlow {env['tensorflow']}, "
            f"Keras {env['keras']}")


def _summary_lines(report):
    name_width = max((len(t.target) for t in report.targets), default=0)
    counts = [_target_counts(t) for t in report.targets]
    counts_width = max((len(c) for c in counts), default=0)
    return [
        f"{target_verdict(t):<6}  {t.target:<{name_width}}  {c:<{counts_width}}  {t.seconds:6.1f}s"
        for t, c in zip(report.targets, counts)
    ]


def _target_counts(target):
    if target.error is not None:
        return "could not be built and called"
    if target.stopped is not None and not target.results:
        return target.stopped
    return counts_text(target.counts(), COUNT_ORDER)


def _notable_results(report):
    lines = []
    for target in report.targets:
        notable = [r for r in target.results if r.status in NOTABLE]
        if not notable:
            continue
        notable.sort(key=lambda r: NOTABLE.index(r.status))
        lines += ["", target.target]
        for result in notable:
            if target.error is not None:
                lines.append(f"  {MARKS['error']:<5} {result_text(result)}")
            else:
                lines.append(f"  {MARKS[result.status]:<5} {result.check}: {short_text(result)}")
        if target.stopped is not None:
            lines.append(f"  {target.stopped}")
    return lines


def short_text(result):
    """The result for a line that already shows its check id; an expected failure without
    the contract, which its author knows (``-v`` shows it)."""
    if result.status == "xfail" and (result.expected is not None or result.seen is not None):
        return f"({result.reason}) " + failure_sentence("", result.expected, result.seen, result.hint)
    return result_text(result)


def _total_line(report):
    targets = report.targets
    unusable = sum(1 for t in targets if t.error is not None)
    passed = sum(1 for t in targets if t.passed)
    counts = {status: 0 for status in STATUSES}
    for target in targets:
        if target.error is None:
            for status, n in target.counts().items():
                counts[status] += n
    seconds = sum(t.seconds for t in targets)
    text = f"{passed} of {len(targets)} target(s) passed"
    if unusable:
        text += f", {unusable} could not be built and called"
    not_run = sum(1 for t in targets if t.stopped is not None and not t.results)
    if not_run:
        text += f", {not_run} not run"
    return f"{text}; checks: {counts_text(counts, COUNT_ORDER)}; {seconds:.1f}s"


def _every_check(report):
    lines = []
    for target in report.targets:
        lines.append("")
        lines.append(f"{target.target}: {target_verdict(target)}")
        width = max((len(r.check) for r in target.results), default=10)
        for result in target.results:
            row = (f"  {MARKS[result.status]:<5} {result.check:<{width}} {result.family:<13} "
                   f"{result.seconds:7.2f}s")
            text = result_text(result)
            if text:  # a passing check's row shows its note, if it left one
                row += f"\n        {text}"
            lines.append(row)
        if target.stopped is not None:
            lines.append(f"  {target.stopped}")
        lines.append(f"  {counts_text(target.counts())}")
    return lines
