"""The ``keras-conformance`` command.

Exit codes: 0 every check passed or failed as expected; 1 a check failed (a broken
contract, an error of the code under test, or an unexpected pass under --strict); 2 usage
error (bad option, target, JSON, shape, timeout or pyproject key, unknown reference or
check, an --output that cannot be written), one line, before any check runs; 3 internal
error, one line; 4 a target could not be imported, or built and called once, so none of
its contracts was checked; 5 the run's budget (--run-timeout) ran out before every check
was done; 130 / 143 a SIGINT (Ctrl-C) / SIGTERM stopped the run, after the report of what
finished was written. With several targets, 1 wins over 4, and 4 over 5.

The code under test is hostile: while it runs, ``sys.stdout`` and file descriptor 1 point
to stderr, so what it prints cannot mix with the report, which goes to a copy of stdout
taken before any of its code ran.
"""

import argparse
import atexit
import contextlib
import os
import re
import signal
import sys
import threading
import warnings

from conformance.config import UsageError, jobs_from_args, run_options
from conformance.options import BY_NAME, add_arguments
from conformance import supervisor
from conformance.exit_codes import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE

#: The signals that stop a run and have the report of what finished written.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _OrderedInput(argparse.Action):
    """``--input`` and ``--input-shape`` append ``(option, value)`` to one list, so the inputs
    keep the order in which they were given."""

    def __call__(self, parser, namespace, value, option_string=None):
        given = list(getattr(namespace, self.dest) or [])
        given.append(("input" if option_string == "--input" else "input-shape", value))
        setattr(namespace, self.dest, given)


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (main prints it), not usage text too."""

    def error(self, message):
        raise UsageError(f"{message} (see: {self.prog} --help)")


def _build_parser():
    parser = _OneLineErrorParser(
        prog="keras-conformance",
        description="Check custom Keras layers and models against the Keras contracts.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{check,checks,references}")

    check = sub.add_parser("check", help="run the checks on a target (or the pyproject targets)")
    check.add_argument("target", nargs="?", help=BY_NAME["target"].help)
    add_arguments(check, _OrderedInput)

    sub.add_parser("checks", help="list the catalogue of checks: id, family, contract")
    sub.add_parser("references", help="list the reference implementations")
    return parser


def _selected_checks(args):
    """The catalogue, or the checks ``--check`` and ``--family`` select (a usage error for an
    id or family the catalogue does not have)."""
    import difflib

    from conformance.catalogue import all_checks

    checks = all_checks("full")
    ids, families = args.only_checks or [], args.only_families or []
    known_ids, known_families = [c.id for c in checks], sorted({c.family for c in checks})
    for given, known, option in ((ids, known_ids, "--check"), (families, known_families, "--family")):
        for name in given:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f"; see: keras-conformance checks"
                raise UsageError(f"{option} {name!r} is not in the catalogue{hint}")
    if ids or families:
        checks = [c for c in checks if c.id in ids or c.family in families]
    return checks


def _prepare_output(path):
    """Create the folders ``path`` needs and make sure it can be written, before any check
    runs, so a bad path fails fast (exit 2) and not after the whole run."""
    if os.path.isdir(path):
        raise UsageError(f"--output {path} is a folder; give a file path")
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the folder for --output {path}: {exc.strerror or exc}")
    existed = os.path.exists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write the report to {path}: {exc.strerror or exc}")
    if not existed:
        os.remove(path)  # written at the end; until then, no empty report lies there


def _write_report(path, text):
    """Write the report; ``None``, or the one-line reason it could not be written."""
    try:
        with open(path, "w", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        return f"cannot write the report to {path}: {exc.strerror or exc}"
    return None


def _verbosity(args):
    return 1 if args.verbose else -1 if args.quiet else 0


@contextlib.contextmanager
def _stdout_kept_for_the_report():
    """The stream the report goes to: stdout as it is before any code under test runs.
    Meanwhile ``sys.stdout`` (and file descriptor 1, with the processes started meanwhile)
    point to stderr, so a ``print`` in a layer cannot mix with the report and a layer that
    replaces ``sys.stdout`` cannot make the report vanish."""
    original = sys.stdout
    try:
        fd = original.fileno()
    except (AttributeError, ValueError, OSError):
        fd = None  # stdout is not a file (captured by a test runner): keep the object itself
    if fd != 1:
        sys.stdout = sys.stderr
        try:
            yield original
        finally:
            sys.stdout = original
        return
    original.flush()
    saved = os.dup(1)
    report_out = open(saved, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    sys.stderr.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield report_out
    finally:
        report_out.flush()
        report_out.close()
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        sys.stdout = original


def _run_check_command(args):
    from conformance.formats import render
    from conformance.progress import choose_mode
    from conformance.quiet_tensorflow import tensorflow_logger_quiet
    from conformance.report import Report

    jobs = jobs_from_args(args)
    options = run_options(args)
    checks = _selected_checks(args)
    if options.output:
        _prepare_output(options.output)
        supervisor.output(options.output, options.format)
    report = Report()
    mode = choose_mode(sys.stderr, args.quiet,
                       report_on_stdout_is_for_machines=options.format != "text" and not options.output)
    with _stdout_kept_for_the_report() as report_out:
        from conformance.interrupts import signals_stop_the_run
        from conformance.outcomes import RunInterrupted

        try:
            with signals_stop_the_run(STOP_SIGNALS, replace_any=True), warnings.catch_warnings(), \
                    tensorflow_logger_quiet():
                warnings.simplefilter("ignore")  # Keras's advice to users would drown the report
                _check_targets(options, checks, jobs, mode, report, lone_target=args.target is not None,
                               isolate=getattr(args, "isolate", False))
        except RunInterrupted as interrupted:
            _stop(report, options, interrupted)
        text = render(report, options.format, verbosity=_verbosity(args))
        if options.output:
            problem = _write_report(options.output, text)
            if problem is not None:
                # The report is not lost, and the verdict not hidden behind the path's problem.
                print(text, file=report_out, flush=True)
                print(f"keras-conformance: error: {problem}", file=sys.stderr)
                return report.exit_code or EXIT_USAGE
            print(f"keras-conformance: {_targets_outcome(report)}; {options.format} report written to "
                  f"{options.output}", file=report_out, flush=True)
        else:
            print(text, file=report_out, flush=True)
    if report.signal is not None:
        print(f"keras-conformance: {report.stopped}", file=sys.stderr)
    return report.exit_code


def _stop(report, options, interrupted):
    """After a signal: the target being checked with what it finished, the others as not run."""
    done = {t.target for t in report.targets}
    if interrupted.partial is not None and interrupted.partial.target not in done:
        report.targets.append(interrupted.partial)
        done.add(interrupted.partial.target)
    from conformance.report import TargetReport

    for pending in options.targets:
        if pending.label not in done:
            report.targets.append(TargetReport(target=pending.label, stopped=f"not run: {interrupted}"))
    report.stopped = str(interrupted)
    report.signal = interrupted.signum


def _check_targets(options, checks, jobs, mode, report, lone_target=False, isolate=False):
    """Check each target of ``options`` into ``report``: imported right before its checks,
    or in target processes with ``jobs`` > 1."""
    from conformance.runner import Budget

    run_budget = Budget(options.run_timeout, "the run") if options.run_timeout is not None else None
    if (jobs > 1 and len(options.targets) > 1) or isolate:
        _check_in_target_processes(options, checks, jobs, mode, report, run_budget=run_budget)
        return
    from conformance.interrupts import rearm
    from conformance.isolation import abandoned_count, abandoned_threads_alive, target_scope
    from conformance.progress import Progress
    from conformance.runner import run_spec

    progress = supervisor.reporting(Progress(sys.stderr, mode, len(options.targets)), checks)
    rest = []  # the targets left to a fresh process after a check that could not be stopped
    abandoned_before = abandoned_count()  # a Python caller's earlier runs are not this run's
    try:
        for position, pending in enumerate(options.targets):
            if abandoned_threads_alive(since=abandoned_before):  # a check given up on still runs here
                rest = options.targets[position:]
                break
            if run_budget is not None and run_budget.ran_out():
                report.targets.append(_not_run(pending, f"not run: {run_budget} ran out"))
                report.stopped = f"{run_budget} ran out"
                continue
            progress.start_target(pending.label, len(checks))
            with target_scope():  # what its module changed at import does not reach the next
                spec, failed = _load(pending, naming_is_usage=lone_target)
                rearm(STOP_SIGNALS)  # its module may have installed handlers of its own
                supervisor.running(pending.label, supervisor.BUILDING)
                if failed is not None:
                    report.targets.append(failed)
                    progress(failed.results[0])
                    continue
                target = run_spec(spec, checks=checks, on_result=progress,
                                  target_timeout=pending.target_timeout, run_budget=run_budget)
            report.targets.append(target)
            if target.stopped is not None and report.stopped is None and run_budget is not None \
                    and run_budget.ran_out():
                report.stopped = f"{run_budget} ran out"
    finally:
        progress.close()
    if rest:
        _check_in_target_processes(options, checks, 1, mode, report, targets=rest, run_budget=run_budget)


def _not_run(pending, why):
    from conformance.report import TargetReport

    return TargetReport(target=pending.label, strict=pending.fields.get("strict", False), stopped=why)


def _load(pending, naming_is_usage=False):
    """``(spec, None)``, or ``(None, its one-row report)`` when importing its module failed.

    A TARGET that names nothing importable is a usage error when it is the only one (no
    check has run then); among several, it is that target's error row and the others are
    still checked."""
    from conformance.config import TargetImportFailed
    from conformance.report import UNUSABLE_CHECK, CheckResult, TargetReport

    supervisor.running(pending.label, "importing it")
    try:
        return pending.load(), None
    except TargetImportFailed as exc:
        message = str(exc)
    except UsageError as exc:
        if naming_is_usage:
            raise
        message = str(exc)
    failed = TargetReport(target=pending.label, strict=pending.fields.get("strict", False), error=message)
    failed.results.append(CheckResult(check=UNUSABLE_CHECK, family="construction", status="error",
                                      message=message, reason=message))
    return None, failed


def _check_in_target_processes(options, checks, jobs, mode, report, targets=None, run_budget=None):
    """``--jobs`` and ``--isolate``: every target goes to a target process (``parallel.py``'s
    target processes), which imports it: nothing its module does at import happens here, and an
    import that fails is that target's error row. The budgets apply there as here (the
    targets' budgets in the target processes, the run's in both). Reports arrive in target order;
    after a signal, the finished ones are kept."""
    from conformance.parallel import run_specs
    from conformance.progress import ParallelProgress

    pending = list(options.targets if targets is None else targets)
    finished = {}
    progress = ParallelProgress(sys.stderr, mode, len(pending))

    def on_report(index, target):
        finished[index] = target
        progress.report(index, target)

    try:
        run_specs(pending, jobs, checks=[c.id for c in checks], on_start=progress.start, on_report=on_report,
                  isolate=True, target_timeouts=[p.target_timeout for p in pending], run_budget=run_budget)
    finally:
        progress.close()
        report.targets.extend(finished[index] for index in sorted(finished))
        if run_budget is not None and report.stopped is None \
                and any(finished[i].stopped is not None for i in finished):
            report.stopped = f"{run_budget} ran out"


def _targets_outcome(report):
    passed = sum(1 for t in report.targets if t.passed)
    unusable = sum(1 for t in report.targets if t.error is not None)
    text = f"{passed} of {len(report.targets)} target(s) passed"
    return text + (f", {unusable} could not be built and called" if unusable else "")


def _list_checks():
    from conformance.catalogue import all_checks

    checks = all_checks("full")
    width = max(len(c.id) for c in checks)
    for c in checks:
        tier = "" if c.tier == "fast" else " [full tier]"
        print(f"{c.id:<{width}}  {c.family:<13} {c.contract}{tier}")
    from conformance.spec import DECLARABLE_TRAITS

    print("\ndeclarable traits (--trait):")
    for name, meaning in sorted(DECLARABLE_TRAITS.items()):
        print(f"  {name:<22} {meaning}")
    return EXIT_OK


def _list_references():
    from conformance import references

    for ref in references.all_references():
        print(ref.summary_line())
    return EXIT_OK


#: Options whose value may start with "-" (a negative size, then refused with a clear
#: message), which argparse would otherwise take for an unknown option.
_SIGNED_VALUE_OPTIONS = ("--input-shape", "--input")
_SIGNED_VALUE = re.compile(r"-\d")


def _attach_signed_values(argv):
    """``--input-shape -3,7`` becomes ``--input-shape=-3,7``, which argparse reads as a value."""
    joined, i = [], 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            joined += argv[i:]
            break
        if token in _SIGNED_VALUE_OPTIONS and i + 1 < len(argv) and _SIGNED_VALUE.match(argv[i + 1]):
            joined.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        joined.append(token)
        i += 1
    return joined


def _usage_error(exc):
    print(f"keras-conformance: error: {exc}", file=sys.stderr)
    return EXIT_USAGE


def main(argv=None):
    """The command's exit code. Run as the process's command (``argv`` None), it also ends
    the process once the report is out, even if the code under test left a thread running."""
    as_command = argv is None
    code = _main(argv)
    supervisor.finished(code)  # the report is out: whatever ends this process now, it is not lost
    if as_command:
        _end_process_if_held(code)
    return code


def _end_process_if_held(code):
    """Python waits for every non-daemon thread before it exits: one the code under test
    started and never ended would keep the command from ever returning after its report.
    Then, with the report written and the output flushed, the exit handlers (which end
    the checker's child processes and remove its temporary files) run here and the
    process ends with ``os._exit``, without waiting for that thread."""
    main_thread = threading.main_thread()
    held = [t for t in threading.enumerate() if t is not main_thread and not t.daemon and t.is_alive()]
    # A check thread given up on at its timeout may be running TensorFlow: the interpreter's
    # shutdown can abort under it ("terminate called without an active exception", 134).
    # Only a run that imported the isolation module (and TensorFlow) can have one: --help
    # and usage errors must not import TensorFlow to ask.
    isolation = sys.modules.get("conformance.isolation")
    abandoned = isolation is not None and isolation.abandoned_threads_alive()
    if not held and not abandoned:
        return
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a stream the code under test broke
            pass
    atexit._run_exitfuncs()
    os._exit(code)


def _main(argv=None):
    argv = _attach_signed_values(sys.argv[1:] if argv is None else list(argv))
    try:
        args = _build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("choose a command: check, checks or references (see: keras-conformance --help)")
    except UsageError as exc:
        return _usage_error(exc)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    from conformance.quiet_tensorflow import tensorflow_chatter_hidden

    # Entered before anything imports TensorFlow, whose start-up lines it keeps out.
    with tensorflow_chatter_hidden(verbose=getattr(args, "verbose", False)):
        return _run_command(args)


def _run_command(args):
    try:
        if args.command == "checks":
            return _list_checks()
        if args.command == "references":
            return _list_references()
        from conformance.isolation import run_scope

        with run_scope():  # one temp folder for the run, its children's too, removed on every way out
            return _run_check_command(args)
    except UsageError as exc:
        return _usage_error(exc)
    except KeyboardInterrupt as exc:  # a signal before the run began, or after the report
        print("keras-conformance: interrupted", file=sys.stderr)
        return 128 + getattr(exc, "signum", signal.SIGINT)
    except BaseException as exc:  # noqa: BLE001 - one line, never a bare traceback or a silent exit
        if os.environ.get("KERAS_CONFORMANCE_DEBUG"):
            raise
        from conformance.outcomes import describe_exception

        print(f"keras-conformance: internal error: {describe_exception(exc)} "
              "(set KERAS_CONFORMANCE_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
