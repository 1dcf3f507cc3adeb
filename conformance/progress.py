"""What ``keras-conformance check`` shows on stderr while it runs, so stdout stays the report.

On a terminal, one live line (target, check count, the check just done) that is cleared at
the end; elsewhere (a CI log), one plain line as each target starts, so a hang shows where
it happened; nothing when quiet.
"""

import shutil
import time

LIVE, LINES, OFF = "live", "lines", "off"


def choose_mode(stream, quiet, report_on_stdout_is_for_machines):
    if quiet:
        return OFF
    if _is_terminal(stream):
        return LIVE
    return OFF if report_on_stdout_is_for_machines else LINES


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _StatusDisplay:
    """Writes to ``stream``: whole lines, or one live line redrawn in place."""

    def __init__(self, stream, mode):
        self.stream, self.mode = stream, mode
        self.started = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.started

    def close(self):
        if self.mode == LIVE:
            self._write("\r\033[K")

    def _show_live(self, line):
        # A line longer than the terminal wraps, and \r could then not erase it.
        width = shutil.get_terminal_size((80, 24)).columns - 1
        if len(line) > width:
            line = line[: max(width - 3, 0)] + "..."
        self._write(f"\r\033[K{line}")

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()


class Progress(_StatusDisplay):
    """The progress of a run that checks one target after another in this process."""

    def __init__(self, stream, mode, total_targets):
        super().__init__(stream, mode)
        self.total_targets = total_targets
        self.target_index = 0
        self.label, self.total_checks, self.done, self.problems = "", 0, 0, 0

    def start_target(self, label, total_checks):
        self.target_index += 1
        self.label, self.total_checks, self.done, self.problems = label, total_checks, 0, 0
        if self.mode == LINES:
            self._write(f"keras-conformance: [{self.target_index}/{self.total_targets}] checking {label}\n")
        elif self.mode == LIVE:
            self._redraw("building and calling it once")

    def __call__(self, result):
        """Called with each result as it comes (``on_result`` of ``run_spec``)."""
        self.done += 1
        if result.status in ("failed", "error"):
            self.problems += 1
        if self.mode == LIVE:
            self._redraw(f"{result.check}: {result.status}")

    def _redraw(self, what):
        failed = f", {self.problems} failed" if self.problems else ""
        name = self.label.rpartition(":")[2] or self.label
        self._show_live(f"[{self.target_index}/{self.total_targets}] {name}  {self.done}/{self.total_checks} "
                        f"checks{failed}, {self.elapsed():.0f}s  {what}")


class ParallelProgress(_StatusDisplay):
    """The progress of a run with target processes: one line per finished target (in a CI
    log), or one live line on a terminal."""

    def __init__(self, stream, mode, total_targets):
        super().__init__(stream, mode)
        self.total = total_targets
        self.running, self.done = {}, 0

    def start(self, index, spec):
        self.running[index] = spec.label
        if self.mode == LIVE:
            self._redraw(f"checking {spec.label.rpartition(':')[2] or spec.label}")

    def report(self, index, report):
        self.running.pop(index, None)
        self.done += 1
        verdict = "ERROR" if report.error is not None else "PASSED" if report.passed else "FAILED"
        counts = ", ".join(f"{n} {status}" for status, n in report.counts().items() if n)
        if self.mode == LINES:
            self._write(f"keras-conformance: [{self.done}/{self.total}] {verdict} {report.target} "
                        f"({counts}) {report.seconds:.1f}s\n")
        elif self.mode == LIVE:
            self._redraw(f"{report.target.rpartition(':')[2] or report.target}: {verdict}")

    def _redraw(self, what):
        self._show_live(f"[{self.done}/{self.total} targets, {len(self.running)} running] "
                        f"{self.elapsed():.0f}s  {what}")
