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


class Progress:
    def __init__(self, stream, mode, total_targets):
        self.stream, self.mode, self.total_targets = stream, mode, total_targets
        self.target_index = 0
        self.label, self.total_checks, self.done, self.problems = "", 0, 0, 0
        self.started = time.perf_counter()

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

    def close(self):
        if self.mode == LIVE:
            self._write("\r\033[K")

    def _redraw(self, what):
        elapsed = time.perf_counter() - self.started
        failed = f", {self.problems} failed" if self.problems else ""
        name = self.label.rpartition(":")[2] or self.label
        line = (f"[{self.target_index}/{self.total_targets}] {name}  {self.done}/{self.total_checks} "
                f"checks{failed}, {elapsed:.0f}s  {what}")
        # A line longer than the terminal wraps, and \r could then not erase it.
        width = shutil.get_terminal_size((80, 24)).columns - 1
        if len(line) > width:
            line = line[: max(width - 3, 0)] + "..."
        self._write(f"\r\033[K{line}")

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()
