"""The ``keras-conformance`` command's entry point: a small supervisor around the real command.

Nothing inside a process can survive ``os._exit`` or a segfault in the code under test: the
run would end with that process's status (0 for ``os._exit(0)``: a green CI with no report).
So the command first starts this supervisor, which imports nothing heavy, runs the real
command (``conformance.cli``) as its child with the same arguments and the same standard
streams, forwards SIGINT and SIGTERM to it and exits with its exit code. The child says over
a pipe which target and check it is running and when its report is written; if it dies
before that, the supervisor says on stderr what was running and how it ended, and exits 4.

``KERAS_CONFORMANCE_SUPERVISED`` in the environment turns the supervisor off (any value);
the supervisor sets it for its child to ``<progress fd>,<signal fd>,<supervisor pid>``.
"""

import os
import signal
import sys

from conformance.exit_codes import EXIT_TARGET_UNUSABLE

MARKER = "KERAS_CONFORMANCE_SUPERVISED"
_FORWARDED = (signal.SIGINT, signal.SIGTERM)
#: How long a signal the supervisor got waits for the child to say it got it too (a signal
#: sent to the process group, by a terminal's Ctrl-C or by ``timeout``), before it is forwarded.
_ECHO_WAIT = 0.5
_CRASHES = {
    signal.SIGSEGV: "a crash in native code",
    signal.SIGBUS: "a crash in native code",
    signal.SIGILL: "a crash in native code",
    signal.SIGFPE: "a crash in native code",
    signal.SIGABRT: "an abort in native code",
    signal.SIGKILL: "perhaps by the system for want of memory",
}

_progress_fd = None  # in the child: where it tells the supervisor what it is doing


def main():
    """The console script: supervise the command, or be the command when supervised."""
    given = os.environ.get(MARKER)
    if given is not None or os.name != "posix":
        if given is not None:
            from conformance import supervisor  # this module may run as __main__ (python -m)

            supervisor._become_supervised_child(given)
        from conformance.cli import main as command

        return command()
    return supervise(sys.argv[1:])


# --- the child's side -------------------------------------------------------------------


def _become_supervised_child(given):
    """Read the marker (and take it out of the environment, so no process this one starts
    takes itself for the supervised command)."""
    global _progress_fd
    os.environ.pop(MARKER, None)
    try:
        progress_fd, signal_fd, supervisor = (int(part) for part in given.split(","))
    except ValueError:
        return  # set by a user to turn the supervisor off
    if supervisor != os.getppid():
        return
    _end_with_the_supervisor(supervisor)
    _progress_fd = progress_fd
    os.set_inheritable(progress_fd, False)
    os.set_inheritable(signal_fd, False)
    # Python writes the number of each signal it handles here as it arrives: the supervisor
    # then knows this process got a SIGINT or SIGTERM itself and does not send it again.
    signal.set_wakeup_fd(signal_fd, warn_on_full_buffer=False)


def _end_with_the_supervisor(supervisor):
    """On Linux, have the kernel send this process SIGTERM when the supervisor dies (killed
    with SIGKILL, it forwards nothing): the run stops as after a SIGTERM, not orphaned. A
    supervisor that died before the request took effect is caught by looking again."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return  # no prctl here: the supervisor's own signal forwarding is all there is
    if os.getppid() != supervisor:
        os.kill(os.getpid(), signal.SIGTERM)


def _tell(*fields):
    if _progress_fd is None:
        return
    line = "\t".join(str(f).replace("\t", " ").replace("\n", " ") for f in fields) + "\n"
    try:
        os.write(_progress_fd, line.encode("utf-8", "backslashreplace")[:4000])
    except OSError:
        pass  # the supervisor is gone; the run goes on as it would without one


_told_folder = []
_first_check = []  # the first check of the target being checked, once known
#: The phase after a target's import: the runner builds and calls it once, then runs the
#: first check without telling anyone in between.
BUILDING = "building it and calling it once"


def running(target, what):
    """Tell the supervisor (if any) that ``target`` is at ``what`` (a check id, or a phase)."""
    if _progress_fd is not None and not _told_folder:
        isolation = sys.modules.get("conformance.isolation")  # imported by the run, not here
        folder = isolation.run_folder() if isolation is not None else None
        if folder:
            _told_folder.append(folder)
            _tell("folder", folder)  # removed by the supervisor if this process cannot
    if what == BUILDING and _first_check:
        what = f"{BUILDING}, or in its first check, {_first_check[0]}"
    _tell("running", target, what)


def output(path, fmt):
    """Tell the supervisor (if any) where the report goes (``--output``) and in which format."""
    _tell("output", os.path.abspath(path), fmt)


def finished(code):
    """Tell the supervisor (if any) that the report is written and the command returns ``code``."""
    _tell("finished", code)


class ReportingProgress:
    """A run's progress display that also tells the supervisor which check runs now: after
    ``k`` results of a target, it is ``checks[k]``, as the runner runs them in order."""

    def __init__(self, progress, checks):
        self._progress, self._ids, self._label, self._done = progress, [c.id for c in checks], "", 0

    def start_target(self, label, total_checks):
        self._label, self._done = label, 0
        _first_check[:] = self._ids[:1]
        return self._progress.start_target(label, total_checks)

    def __call__(self, result):
        self._done += 1
        if self._done < len(self._ids):
            running(self._label, self._ids[self._done])
        return self._progress(result)

    def __getattr__(self, name):
        return getattr(self._progress, name)


def reporting(progress, checks):
    """``progress``, telling the supervisor what runs when there is one."""
    return progress if _progress_fd is None else ReportingProgress(progress, checks)


# --- the supervisor's side --------------------------------------------------------------


def _child_command(argv):
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    if spec is not None and spec.name:  # python -m conformance.supervisor
        return [sys.executable, "-m", spec.name, *argv]
    return [sys.executable, sys.argv[0], *argv]  # the console script, as it was started


def supervise(argv):
    """Run the command with ``argv`` in a child process; its exit code, or 4 if it died
    before its report was written."""
    import select
    import subprocess
    import time

    script = _child_command(argv)
    if script[1] != "-m" and not os.path.isfile(script[1]):
        from conformance.cli import main as command

        return command()
    progress_r, progress_w = os.pipe()
    signal_r, signal_w = os.pipe()
    os.set_blocking(signal_w, False)
    got = []  # the signals this process got, in order
    previous = {s: signal.signal(s, lambda signum, frame: got.append(signum)) for s in _FORWARDED}
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    old_wakeup = signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    env = dict(os.environ)
    env[MARKER] = f"{progress_w},{signal_w},{os.getpid()}"
    try:
        child = subprocess.Popen(script, env=env, pass_fds=(progress_w, signal_w))
    except OSError as exc:
        print(f"keras-conformance: error: cannot start the command: {exc}", file=sys.stderr)
        return 3
    finally:
        os.close(progress_w)
        os.close(signal_w)
    state = {"target": None, "what": None, "code": None, "folder": None, "output": None}
    echoed, forwarded, buffer = set(), set(), b""
    pending = []  # (signal, deadline): got here, waiting to see whether the child got it too
    try:
        while True:
            timeout = 1.0 if not pending else max(0.0, min(d for _, d in pending) - time.monotonic())
            try:
                readable, _, _ = select.select([progress_r, signal_r, wake_r], [], [], timeout)
            except InterruptedError:
                readable = []
            if wake_r in readable:
                os.read(wake_r, 4096)
            if signal_r in readable:
                echoed.update(os.read(signal_r, 4096))
            if progress_r in readable:
                chunk = os.read(progress_r, 65536)
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    _read_message(line, state)
            while got:
                pending.append((got.pop(0), time.monotonic() + _ECHO_WAIT))
            now = time.monotonic()
            for signum, deadline in list(pending):
                if signum in echoed or signum in forwarded:
                    pending.remove((signum, deadline))
                elif now >= deadline and child.poll() is None:
                    pending.remove((signum, deadline))
                    forwarded.add(signum)
                    try:
                        child.send_signal(signum)
                    except OSError:
                        pass
            if child.poll() is not None:
                break
        # What it wrote before it ended is still in the pipe.
        os.set_blocking(progress_r, False)
        try:
            while True:
                chunk = os.read(progress_r, 65536)
                if not chunk:
                    break
                buffer += chunk
        except BlockingIOError:
            pass
        for line in buffer.split(b"\n"):
            _read_message(line, state)
    finally:
        signal.set_wakeup_fd(old_wakeup)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for fd in (progress_r, signal_r, wake_r, wake_w):
            os.close(fd)
    return _outcome(child.returncode, state, argv)


def _read_message(line, state):
    fields = line.decode("utf-8", "replace").split("\t")
    if fields[0] == "running" and len(fields) == 3:
        state["target"], state["what"] = fields[1], fields[2]
    elif fields[0] == "folder" and len(fields) == 2:
        state["folder"] = fields[1]
    elif fields[0] == "output" and len(fields) == 3:
        state["output"] = (fields[1], fields[2])
    elif fields[0] == "finished" and len(fields) == 2:
        state["code"] = fields[1]


def _outcome(returncode, state, argv):
    if state["code"] is not None:  # the report is out: its exit code (or how it ended after)
        return returncode if returncode >= 0 else 128 - returncode
    if state["folder"] and os.path.isdir(state["folder"]):  # the run's temp folder, left by the crash
        import shutil

        shutil.rmtree(state["folder"], ignore_errors=True)
    if returncode < 0:
        signum = -returncode
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        why = _CRASHES.get(signum)
        how = f"was killed by {name}" + (f", {why}" if why else "")
    else:
        how = f"exited with status {returncode} without finishing its report, as os._exit in the code under test does"
    if state["target"] is None:
        where = "before it began checking a target"
    else:
        where = f"while checking {state['target']} ({state['what']})"
    line = f"the checking process {how}, {where}"
    written = "no report was written"
    if state["output"] is not None:
        _write_stopped_report(*state["output"], line)
        written = f"{state['output'][0]} says only that"
    print(f"keras-conformance: error: {line}; {written}", file=sys.stderr, flush=True)
    if returncode < 0 and -returncode in _FORWARDED:
        return 128 - returncode
    return EXIT_TARGET_UNUSABLE


def _write_stopped_report(path, fmt, line):
    """At ``--output``, instead of a report that would not be this run's: one saying the run
    was stopped by ``line`` (written here, without the report's renderers, which load Keras)."""
    stopped = f"keras-conformance: the run was stopped: {line}; no check result was kept"
    if fmt == "json":
        import json

        from conformance import __version__

        text = json.dumps({"tool": {"name": "keras-conformance", "version": __version__}, "complete": False,
                           "stopped": stopped, "targets": []}, indent=2)
    elif fmt == "junit":
        from xml.sax.saxutils import quoteattr

        text = ('<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="keras-conformance" tests="1" '
                f'errors="1">\n  <testsuite name="keras-conformance" tests="1" errors="1">\n    '
                f'<testcase classname="keras-conformance" name="run">\n      <error message={quoteattr(stopped)}/>'
                '\n    </testcase>\n  </testsuite>\n</testsuites>')
    elif fmt == "html":
        from html import escape

        text = f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>keras-conformance</title></head>" \
               f"<body><p><strong>{escape(stopped)}</strong></p></body></html>"
    else:
        text = stopped
    try:
        with open(path, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text + "\n")
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
