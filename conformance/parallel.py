"""Checking targets in several target processes (``--jobs N``), one report in target order.

Each target process is a fresh interpreter started with multiprocessing's ``spawn`` context (never
``fork``: the checking process has imported TensorFlow, whose runtime does not survive a
fork). A target process imports the checker once and then checks target after target: it gets
``(index, payload, check ids, budgets)``, rebuilds the spec with
:func:`~conformance.spec.spec_from_payload` (so its class is imported there, from the
spec's ``import_path``; the command sends its pending targets, which no process imported
before), runs :func:`~conformance.runner.run_spec` with the target's budget and what is
left of the run's, and sends the :class:`~conformance.report.TargetReport` back. Requests
and reports travel pickled, since constructor kwargs may hold functions.

Target processes do not import the checking process's ``__main__`` module (multiprocessing's
spawn would re-run a script without an ``if __name__ == "__main__"`` guard in every
target process). So a target another process cannot rebuild is checked in this process, while the
target processes check the others: a :class:`~conformance.spec.CheckSpec` without ``import_path``,
one whose class or kwargs live in ``__main__``, or kwargs that do not pickle (a lambda).
The command line always gives an ``import_path``, so this concerns the Python API only.

A target process that dies while checking a target (a crash in native code, ``os._exit`` in user
code, killed for memory) makes that target one ``error`` row saying so, and a new target process
takes the remaining targets. So does a target that outlives every check's timeout
together. A target process where a check was abandoned at its timeout (its thread may still be
running TensorFlow) sends its report and leaves; a new one takes the next target, so no
later verdict depends on that thread. ``isolate=True`` checks every target in a target process,
even with one job (see :func:`run_specs`).

Each target process leads its own process group, registered with
:func:`conformance.isolation.adopt_child`: the target processes are ended with their groups
(SIGTERM, which makes a target process end its own check host, then SIGKILL) when the run
ends, on KeyboardInterrupt, on errors and from :func:`conformance.isolation.end_children`.
"""

import collections
import contextlib
import io
import multiprocessing
import os
import pickle
import signal
import sys
import time
import types
from multiprocessing.connection import wait

from conformance.progress import ParallelProgress

#: Seconds a target process gets to import the checker and TensorFlow, on top of a target's checks.
START_UP_ALLOWANCE = 120.0
#: Seconds a target process gets, after the run's budget ran out, to send the report of what it
#: finished (its checks stop at the budget) before it is ended.
RUN_BUDGET_GRACE = 5.0
#: Seconds a target process gets to exit after the run before it is killed.
EXIT_GRACE = 10.0
#: Signals that mean the process crashed rather than was killed.
_CRASHES = ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT")
#: Environment variables that size TensorFlow's thread pools; unless the user set them,
#: the target processes share the CPUs between them (see :func:`threads_per_process`).
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def threads_per_process(jobs, cpus=None):
    """TensorFlow threads per target process: the CPUs split between ``jobs`` target processes, at least 1."""
    cpus = cpus or os.cpu_count() or 1
    return max(1, cpus // jobs)


# -- the target process side ---------------------------------------------------------------------

def _serve(connection, threads, cwd, temp=None):
    """A target process's loop: check each target it is sent, send its report back; ``None`` ends it.
    ``temp`` is the temp folder of its files (the run removes it, however the target process ends)."""
    os.setsid()  # a process group of its own, ended as one (the terminal's Ctrl-C is the parent's)
    if temp is not None:
        import tempfile

        tempfile.tempdir = os.environ["TMPDIR"] = temp  # its check host's too
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a run is interrupted
    from conformance import isolation

    def terminated(signum, frame):
        isolation.end_children()  # its own check host and that one's children
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    isolation.set_parent_death_signal(signal.SIGTERM)  # the checker killed outright: end too
    try:
        _serve_targets(connection, threads, cwd)
    finally:
        isolation.end_children()
    isolation.exit_process(0)  # at once if an abandoned check thread is still running


def _serve_targets(connection, threads, cwd):
    from conformance.isolation import abandoned_threads_alive

    os.chdir(cwd)  # where the run started: relative target paths resolve from there
    for variable in THREAD_VARIABLES:
        os.environ.setdefault(variable, str(threads))  # read when TensorFlow's runtime starts
    import warnings

    from conformance.outcomes import describe_exception
    from conformance.quiet_tensorflow import tensorflow_logger_quiet
    from conformance.runner import run_spec
    from conformance.spec import spec_from_payload

    with warnings.catch_warnings(), tensorflow_logger_quiet():
        warnings.simplefilter("ignore")  # as the command does in process
        while True:
            try:
                request = connection.recv()
            except (EOFError, OSError):
                return  # the checking process went away
            if request is None:
                return
            index, payload, checks, budgets = request
            try:
                reply = ("report", index, _check_one(pickle.loads(payload), checks, budgets, run_spec,
                                                     spec_from_payload))
            except BaseException as exc:  # noqa: BLE001 - reported as that target's error
                reply = ("error", index, f"the target process could not check it: {describe_exception(exc)}")
            retiring = abandoned_threads_alive()  # the next target gets a clean process
            try:
                connection.send(reply + (retiring,))
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                connection.send(("error", index, f"its report could not be sent back: {describe_exception(exc)}",
                                 retiring))
            if retiring:
                return


def _check_one(payload, checks, budgets, run_spec, spec_from_payload):
    """The report of one target in a target process: ``payload`` is a spec's payload, or a pending
    target of the command (imported here, so its module's code runs in this target process only).
    ``budgets`` is ``(target_timeout, run seconds, the run's end by the wall clock)``; None
    where not set. (The request waits in the pipe while the target process starts: only a clock
    both processes read tells what is left of the run when it is read.)"""
    from conformance.runner import Budget

    target_timeout, run_seconds, run_end = budgets
    run_budget = None
    if run_seconds is not None:
        run_budget = Budget(run_seconds, "the run")
        run_budget.deadline = time.monotonic() + (run_end - time.time())  # counted from the run's start
    from conformance.isolation import target_scope

    with target_scope():  # what its module changes at import does not reach this target process's next target
        if _is_pending(payload):
            spec, failed = _load_pending(payload)
            if failed is not None:
                return failed
        else:
            spec = spec_from_payload(payload)
        return run_spec(spec, checks=checks, target_timeout=target_timeout, run_budget=run_budget)


def _is_pending(item):
    """Whether ``item`` is the command's pending target (imported by whoever checks it)."""
    return hasattr(item, "load") and hasattr(item, "fields")


def _load_pending(pending):
    """``(spec, None)``, or ``(None, its one-row report)`` when its module could not be imported."""
    from conformance.config import TargetImportFailed, UsageError
    from conformance.report import UNUSABLE_CHECK, CheckResult, TargetReport

    try:
        return pending.load(), None
    except (TargetImportFailed, UsageError) as exc:
        message = str(exc)
    failed = TargetReport(target=pending.label, strict=pending.fields.get("strict", False), error=message)
    failed.results.append(CheckResult(check=UNUSABLE_CHECK, family="construction", status="error",
                                      message=message, reason=message))
    return None, failed


def _label(item):
    return item.label


def _strict(item):
    return item.fields.get("strict", False) if _is_pending(item) else item.strict


def _timeout(item):
    return item.fields["timeout"] if _is_pending(item) else item.timeout


# -- the checking process's side ---------------------------------------------------------

class _TargetProcess:
    def __init__(self, context, threads, cwd, temp=None):
        self.connection, child_end = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(child_end, threads, cwd, temp),
                                       name="keras-conformance-job")
        with _main_module_hidden():
            self.process.start()
        child_end.close()
        from conformance.isolation import TERM_GRACE, adopt_child

        # SIGTERM gives it time to end its own check host (TERM_GRACE) first.
        adopt_child(self.process.pid, poll=lambda: self.process.exitcode, grace=3 * TERM_GRACE)
        self.index = None  # the target it is checking
        self.deadline = None

    def send(self, index, payload, checks, deadline, budgets):
        self.index, self.deadline = index, deadline
        self.connection.send((index, payload, checks, budgets))

    def death(self):
        """How the process ended, in words, once it has."""
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is None:
            return "it stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"it was killed by {name}" + (", a crash in native code" if name in _CRASHES else "")
        return f"it exited with status {code}, as os._exit in the code under test does"

    def kill(self):
        _end_target_processes([self])


def _end_target_processes(target_processes):
    """End ``target_processes`` side by side, with their process groups."""
    from conformance.isolation import end_child

    end_child(*[target_process.process.pid for target_process in target_processes])
    for target_process in target_processes:
        target_process.process.join(timeout=5)
        target_process.connection.close()


def _unusable(spec, message):
    from conformance.report import UNUSABLE_CHECK, CheckResult, TargetReport
    from conformance.runner import _called_with

    described = spec
    if _is_pending(spec):  # not imported here: what it is called with, from its entry
        inputs = spec.fields["inputs"]
        described = types.SimpleNamespace(kwargs=spec.fields.get("kwargs") or {}, inputs=inputs,
                                          call_kwargs=inputs.call_kwargs)
    called_with = _called_with(described)
    report = TargetReport(target=spec.label, strict=_strict(spec), called_with=called_with)
    report.error = message
    report.results.append(CheckResult(check=UNUSABLE_CHECK, family="construction",
                                      status="error", message=message))
    return report


@contextlib.contextmanager
def _main_module_hidden():
    """While a target process starts, ``__main__`` is a bare module, so that spawn does not make
    the target process import the checking process's main script."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class _FromMain(Exception):
    pass


class _Pickler(pickle.Pickler):
    """A pickler that refuses what only the checking process's ``__main__`` defines."""

    def persistent_id(self, obj):
        if getattr(obj, "__module__", None) == "__main__":
            raise _FromMain
        return None


def transferable_payload(spec):
    """``spec``'s payload, pickled for a target process; None if another process cannot rebuild it.
    A pending target of the command travels as it is: the target process imports it."""
    if _is_pending(spec):
        import dataclasses

        return pickle.dumps(dataclasses.replace(spec, loaded=None))
    if spec.import_path is None or spec.import_path.partition(":")[0] == "__main__" \
            or spec.cls.__module__ == "__main__":
        return None
    buffer = io.BytesIO()
    try:
        _Pickler(buffer).dump(spec.to_payload())
    except Exception:  # noqa: BLE001 - a lambda, a local class...: checked in process instead
        return None
    return buffer.getvalue()


def _target_seconds(spec, check_count):
    """How long a target process may take over one target before it is taken for hung: every
    check's timeout, the probe's, and the target process's start-up."""
    return _timeout(spec) * (check_count + 1) + START_UP_ALLOWANCE


def _not_run(spec, why):
    from conformance.report import TargetReport

    return TargetReport(target=spec.label, strict=_strict(spec), stopped=why)


def run_specs(specs, jobs, checks=None, on_start=None, on_report=None, isolate=False, target_timeouts=None,
              run_budget=None):
    """Check ``specs`` in ``jobs`` target processes; their reports, in the order of ``specs``.

    ``checks`` are check ids or checks (default: the whole catalogue). ``on_start(index,
    spec)`` is called as a target is handed to a target process (or started in this process),
    ``on_report(index, report)`` as its report arrives. With one job, or one target
    another process can check, everything runs in this process, as
    :func:`~conformance.runner.run_spec` does, unless ``isolate``: then every target
    another process can rebuild is checked in a target process, where nothing it does (``os._exit``,
    a crash in native code, a check abandoned at its timeout) can reach this process or
    the other targets.

    ``target_timeouts`` (one number of seconds or None per spec) are the targets' budgets
    and ``run_budget`` (a :class:`~conformance.runner.Budget`) the run's, applied as
    :func:`~conformance.runner.run_spec` applies them: each target process gets its target's budget
    and what is left of the run's; once the run's runs out, no target is handed out any
    more, the targets not started are reports marked not run, and a target process still at it
    :data:`RUN_BUDGET_GRACE` seconds later is ended and its target marked not run too.
    A :class:`~conformance.config.PendingTarget` among ``specs`` is imported by the
    target process that checks it, never here.
    """
    from conformance.catalogue import all_checks
    from conformance.runner import run_spec

    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    checks = all_checks("full") if checks is None else list(checks)
    check_ids = [check if isinstance(check, str) else check.id for check in checks]
    specs = list(specs)
    reports = [None] * len(specs)
    target_timeouts = [None] * len(specs) if target_timeouts is None else list(target_timeouts)

    def budgets(index):
        if run_budget is None:
            return target_timeouts[index], None, None
        return target_timeouts[index], run_budget.seconds, time.time() + run_budget.remaining()

    def run_out():
        return run_budget is not None and run_budget.ran_out()

    def finish(index, report):
        reports[index] = report
        if on_report is not None:
            on_report(index, report)

    def run_here(index):
        if run_out():
            finish(index, _not_run(specs[index], f"not run: {run_budget} ran out"))
            return
        if on_start is not None:
            on_start(index, specs[index])
        spec = specs[index]
        if _is_pending(spec):
            spec, failed = _load_pending(spec)
            if failed is not None:
                finish(index, failed)
                return
        finish(index, run_spec(spec, checks=check_ids, target_timeout=target_timeouts[index],
                               run_budget=run_budget))

    payloads = [transferable_payload(spec) for spec in specs]
    remote = collections.deque(i for i, payload in enumerate(payloads) if payload is not None)
    local = collections.deque(i for i, payload in enumerate(payloads) if payload is None)
    target_processes = min(jobs, len(remote))
    if target_processes <= 1 and not (isolate and remote):
        for index in range(len(specs)):
            run_here(index)
        return reports

    context = multiprocessing.get_context("spawn")
    threads = threads_per_process(target_processes)
    cwd = os.getcwd()  # a check in this process may change it for a while
    import shutil
    import tempfile

    # The target processes' files (saved models, inputs, their check host's folders) go
    # here, removed below however they end: a killed target process cleans nothing up itself.
    temp = tempfile.mkdtemp(prefix="keras-conformance-jobs-")
    pool, idle, busy = [], [], []

    def replace(target_process):
        target_process.kill()
        pool.remove(target_process)
        if remote:
            replacement = _TargetProcess(context, threads, cwd, temp)
            pool.append(replacement)
            idle.append(replacement)

    try:
        for _ in range(target_processes):
            pool.append(_TargetProcess(context, threads, cwd, temp))
        idle.extend(pool)
        while remote or local or busy:
            if run_out():  # what was not handed out is not run
                while remote:
                    index = remote.popleft()
                    finish(index, _not_run(specs[index], f"not run: {run_budget} ran out"))
            while idle and remote:
                target_process, index = idle.pop(), remote.popleft()
                if on_start is not None:
                    on_start(index, specs[index])
                deadline = time.monotonic() + _target_seconds(specs[index], len(check_ids))
                if run_budget is not None:
                    deadline = min(deadline, run_budget.deadline + RUN_BUDGET_GRACE)
                try:
                    target_process.send(index, payloads[index], check_ids, deadline, budgets(index))
                except (OSError, ValueError):
                    pass  # it died: waiting on it below finds out and reports it
                busy.append(target_process)
            if busy:
                # With targets to check here, only collect what is there; else wait for
                # the first report, death or deadline.
                timeout = 0 if local else max(0.0, min(w.deadline for w in busy) - time.monotonic())
                ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy],
                                 timeout=timeout))
                for target_process in list(busy):
                    outcome = _collect(target_process, ready, specs, len(check_ids), run_budget)
                    if outcome is None:
                        continue
                    busy.remove(target_process)
                    finished, report = outcome
                    finish(target_process.index, report)
                    if finished:
                        idle.append(target_process)
                    else:
                        replace(target_process)
            if local and not (idle and remote):
                run_here(local.popleft())  # the target processes go on meanwhile
    except BaseException:
        _end_target_processes(pool)
        raise
    else:
        _close_all(pool)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return reports


def _collect(target_process, ready, specs, check_count, run_budget=None):
    """What became of the target ``target_process`` checks: None while it is still at it, else
    ``(whether the target process can go on, the target's report)``."""
    spec = specs[target_process.index]
    if target_process.connection in ready or target_process.process.sentinel in ready:
        try:
            reply = target_process.connection.recv() if target_process.connection.poll() else None
        except (EOFError, OSError):
            reply = None
        if reply is not None:
            kind, _, value, retiring = reply
            return not retiring, value if kind == "report" else _unusable(spec, value)
        problem = f"the target process checking it died ({target_process.death()})"
    elif time.monotonic() > target_process.deadline and run_budget is not None and run_budget.ran_out():
        return False, _not_run(spec, f"not run to its end: {run_budget} ran out while a target process "
                                     f"was checking it, and it was stopped")
    elif time.monotonic() > target_process.deadline:
        problem = (f"the target process checking it took over {_target_seconds(spec, check_count):g} s "
                   "(every check's timeout together) and was stopped")
    else:
        return None
    return False, _unusable(spec, f"{problem}; its report was lost (check it alone, without --jobs or "
                                  "--isolate, to see where)")


def _close_all(pool):
    """Ask every target process to exit (each ends its own check host on the way), then
    make sure they did."""
    for target_process in pool:
        try:
            target_process.connection.send(None)
        except (OSError, ValueError):
            pass
    stop = time.monotonic() + EXIT_GRACE
    for target_process in pool:
        target_process.process.join(timeout=max(0.0, stop - time.monotonic()))
    _end_target_processes(pool)


def check_targets(specs, jobs, checks, stream, mode, isolate=False, target_timeouts=None, run_budget=None):
    """The command's run over ``specs`` with ``jobs`` target processes: the reports in target order,
    with progress on ``stream``. ``isolate`` and the budgets: see :func:`run_specs`."""
    progress = ParallelProgress(stream, mode, len(specs))
    try:
        return run_specs(specs, jobs, checks=checks, on_start=progress.start, on_report=progress.report,
                         isolate=isolate, target_timeouts=target_timeouts, run_budget=run_budget)
    finally:
        progress.close()
