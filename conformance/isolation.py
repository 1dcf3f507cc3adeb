"""Running user code without letting it change the caller's world.

Every check runs inside :func:`isolated`: the dtype policy, Keras's backend settings
(floatx, epsilon, image data format), Keras's unsafe-deserialization switch, TensorFlow's
execution switches (run functions eagerly, XLA auto-clustering), the random seeds of
Python, NumPy, TensorFlow and Keras, Keras's registry of serializable objects, the
environment variables, the temp folder and the working directory are put back afterwards,
whatever the check did or raised, and the scratch directories it made are deleted. Each
setting is written back only when it changed: restoring runs around every check.

The processes the checker starts are registered here (:func:`adopt_child`), each the
leader of its own process group: :func:`end_children` ends them all with their groups
(SIGTERM, a short grace, then SIGKILL), on a normal exit (atexit), on a timeout and from
the command's signal handlers. :func:`begin_run` points this process's temp folder, and its
children's, at one folder that :func:`end_run` removes, so that nothing a run writes
(AutoGraph's generated modules included) outlives it.
"""

import atexit
import contextlib
import os
import queue
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

import numpy as np

import keras_compat as compat

_scratch_dirs = []  # every scratch directory made and not yet removed, in creation order
_scratch_lock = threading.Lock()


def snapshot():
    return {
        "policy": compat.global_policy_name(),
        "backend": compat.backend_settings(),
        "safe_mode": compat.safe_mode_setting(),
        "tf_execution": compat.tf_execution_settings(),
        "python_random": random.getstate(),
        "numpy_random": np.random.get_state(),
        "tf_seed": compat.tf_global_seed(),
        "keras_seed": compat.keras_global_seed(),
        "registry": compat.registration_snapshot(),
        "environ": _environment(),
        "tempdir": tempfile.tempdir,
        "cwd": os.getcwd(),
    }


def _environment():
    # The encoded mapping os.environ keeps: copied in a fraction of dict(os.environ)'s time.
    data = getattr(os.environ, "_data", None)
    return ("encoded", data.copy()) if isinstance(data, dict) else ("plain", dict(os.environ))


def restore_environment(saved):
    """Make ``os.environ`` equal ``saved`` (from :func:`snapshot`, or a plain dict) again,
    touching only the keys that differ."""
    current = os.environ
    if isinstance(saved, tuple):
        kind, saved = saved
        if kind == "encoded":
            if getattr(current, "_data", None) == saved:
                return
            saved = {current.decodekey(key): current.decodevalue(value) for key, value in saved.items()}
    for key in [key for key in current if key not in saved]:
        del current[key]
    for key, value in saved.items():
        if current.get(key) != value:
            current[key] = value


def restore(state):
    if compat.global_policy_name() != state["policy"]:
        compat.set_global_policy(state["policy"])
    compat.restore_backend_settings(state["backend"])
    compat.restore_safe_mode_setting(state["safe_mode"])
    compat.restore_tf_execution_settings(state["tf_execution"])
    random.setstate(state["python_random"])
    np.random.set_state(state["numpy_random"])
    compat.restore_tf_global_seed(state["tf_seed"])
    compat.restore_keras_global_seed(state["keras_seed"])
    compat.registration_restore(state["registry"])
    restore_environment(state["environ"])
    tempfile.tempdir = state["tempdir"]
    os.chdir(state["cwd"])  # unconditionally: the current one may have been deleted


@contextlib.contextmanager
def isolated(still_wanted=None):
    """Restore global state and remove scratch directories on exit, even after errors.

    ``still_wanted()``, when given, is asked on exit: a check thread given up on at its
    timeout answers False and then leaves everything as it is, since its snapshot is stale
    by the time it returns (a later run's temp folder and policy would be overwritten, and
    later checks' scratch directories taken for its own)."""
    state = snapshot()
    with _scratch_lock:
        first = len(_scratch_dirs)
    try:
        yield
    finally:
        if still_wanted is None or still_wanted():
            restore(state)
            with _scratch_lock:
                made_here = _scratch_dirs[first:]
                del _scratch_dirs[first:]
            for directory in made_here:
                shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def target_scope():
    """Around one target of a run, from the import of its module to its last check: the
    settings its module changed at import (floatx, the policy, the image data format,
    environment variables...) are put back afterwards, so the next target does not see
    them. Its registrations of serializable objects stay: a later target of the same
    module, imported once, needs them."""
    state = snapshot()
    try:
        yield
    finally:
        state["registry"] = compat.registration_snapshot()
        restore(state)


def scratch_dir():
    """A new temporary directory, deleted when the surrounding :func:`isolated` ends."""
    directory = tempfile.mkdtemp(prefix="keras-conformance-")
    with _scratch_lock:
        _scratch_dirs.append(directory)
    return directory


# -- child processes ---------------------------------------------------------------------

#: Seconds a child gets, after SIGTERM, to end its own children before SIGKILL.
TERM_GRACE = 1.0


class _Child:
    def __init__(self, pid, poll, grace):
        self.pid, self.poll, self.grace = pid, poll, grace


_children = {}  # pid -> _Child; each pid leads its own process group
_children_lock = threading.RLock()  # also taken by signal handlers, in the main thread


def adopt_child(pid, poll=None, grace=TERM_GRACE):
    """Register a child process that leads its own process group (started with
    ``start_new_session=True`` or ``os.setsid``), to be ended with its group by
    :func:`end_child` / :func:`end_children`. ``poll()`` says whether it has exited (not
    None once it has; default: ``os.waitpid`` with WNOHANG); ``grace`` is how long it gets
    after SIGTERM to end its own children."""
    with _children_lock:
        _children[pid] = _Child(pid, poll or (lambda: _reaped(pid)), grace)


def release_child(pid):
    """Forget a child that has exited and was waited for."""
    with _children_lock:
        _children.pop(pid, None)


def _reaped(pid):
    try:
        finished, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0  # already waited for elsewhere
    return status if finished else None


def _signal_group(pid, signum):
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        try:  # no such group (yet): a child still about to make its own, or gone
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _end(children):
    """SIGTERM every group, wait for the leaders for the longest grace, SIGKILL every group
    (also the grandchildren that ignored SIGTERM or outlived their leader)."""
    for child in children:
        _signal_group(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + max((child.grace for child in children), default=0.0)
    waiting = list(children)
    while waiting and time.monotonic() < deadline:
        waiting = [child for child in waiting if _safe_poll(child) is None]
        if waiting:
            time.sleep(0.01)
    for child in children:
        _signal_group(child.pid, signal.SIGKILL)
    for child in children:
        for _ in range(200):  # reap the leader, so that no zombie is left either
            if _safe_poll(child) is not None:
                break
            time.sleep(0.005)
        release_child(child.pid)


def _safe_poll(child):
    try:
        return child.poll()
    except Exception:  # noqa: BLE001 - a handle already closed: the process is gone
        return 0


def end_child(*pids):
    """End these registered children and their process groups (SIGTERM, grace, SIGKILL),
    side by side."""
    with _children_lock:
        children = [_children.get(pid) or _Child(pid, lambda pid=pid: _reaped(pid), 0.0) for pid in pids]
    if children:
        _end(children)


def end_children():
    """End every registered child process and its process group, whatever they do (a
    child that ignores SIGTERM or hangs is killed after :data:`TERM_GRACE`). Safe to call
    from a signal handler, atexit, or several times."""
    with _children_lock:
        children = list(_children.values())
    if children:
        _end(children)


def live_children():
    """The pids of the registered children (for tests and diagnostics)."""
    with _children_lock:
        return sorted(_children)


def set_parent_death_signal(signum):
    """Ask Linux to send ``signum`` to this process when the thread that started it ends
    (a backstop for a parent killed with SIGKILL, which runs no clean-up). Elsewhere a
    no-op. Only for processes started from a thread that lives as long as its parent."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        parent = os.getppid()
        libc.prctl(1, int(signum), 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the request
            os.kill(os.getpid(), signum)
    except Exception:  # noqa: BLE001 - a backstop only
        pass


# -- the run's temp folder ---------------------------------------------------------------

_run = {}  # "folder", "tempdir", "TMPDIR": the run's folder and what it replaced
_run_lock = threading.RLock()


def begin_run():
    """Give this run one temp folder: this process's ``tempfile`` and its children (via
    ``TMPDIR``) write there, and :func:`end_run` removes it, on every path out (it is
    also registered with atexit). Returns the folder; a second call returns the same."""
    with _run_lock:
        if "folder" not in _run:
            base = tempfile.gettempdir()
            folder = tempfile.mkdtemp(prefix="keras-conformance-run-", dir=base)
            _run.update(folder=folder, tempdir=tempfile.tempdir, TMPDIR=os.environ.get("TMPDIR"),
                        children_before=set(live_children()))
            tempfile.tempdir = folder
            os.environ["TMPDIR"] = folder
        return _run["folder"]


def run_folder():
    """The folder :func:`begin_run` made, or None outside a run."""
    return _run.get("folder")


def end_run():
    """End the child processes started during the run (a Python caller's own, older ones
    stay), put the temp folder setting back and remove the run's folder. Safe to call from
    a signal handler, atexit, or several times."""
    with _run_lock:
        if "folder" not in _run:
            return
        before = _run["children_before"]
        end_child(*[pid for pid in live_children() if pid not in before])
        folder = _run.pop("folder")
        if tempfile.tempdir == folder:
            tempfile.tempdir = _run["tempdir"]
        if os.environ.get("TMPDIR") == folder:
            if _run["TMPDIR"] is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = _run["TMPDIR"]
        _run.clear()
    try:
        if os.getcwd().startswith(folder):
            os.chdir(os.path.dirname(folder))
    except OSError:
        pass
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def run_scope():
    """:func:`begin_run` ... :func:`end_run`, when no outer scope began the run already."""
    outer = run_folder() is not None
    begin_run()
    try:
        yield
    finally:
        if not outer:
            end_run()


def _at_exit():
    end_run()
    end_children()


atexit.register(_at_exit)


class TimedOut(Exception):
    pass


class _CheckThread:
    """A daemon thread that runs the functions handed to it one after another, each inside
    :func:`isolated` (Keras 3 keeps some global state per thread: it is restored there too).
    One thread serves many checks; starting a thread per check costs more than most checks."""

    def __init__(self):
        self.tasks = queue.SimpleQueue()
        self.given_up = False
        self.thread = threading.Thread(target=self._serve, name="keras-conformance-check", daemon=True)
        self.thread.start()

    def _serve(self):
        compat.prepare_thread()
        while True:
            task = self.tasks.get()
            if task is None:
                return  # given up on at a timeout: nobody sends it work any more
            func, outcome, done = task
            try:
                with isolated(still_wanted=lambda: not self.given_up):
                    outcome["value"] = func()
            except BaseException as exc:  # noqa: BLE001 - handed back to the calling thread
                outcome["error"] = exc
            done.set()


_check_threads = threading.local()  # each calling thread has its own check thread
_abandoned = []  # (thread, what it was running) of every check thread given up on
_abandoned_lock = threading.Lock()
_abandoned_total = [0]  # how many check threads were ever given up on
#: Seconds to wait for a check thread given up on at its timeout before the checks after
#: it are given up too: one that was only slow (a loaded machine) ends within them.
ABANDON_GRACE = 2.0


def run_with_timeout(func, timeout, what="a check"):
    """Run ``func()`` in a check thread; raise :class:`TimedOut` if it has not returned after
    ``timeout`` seconds. That thread is then abandoned, as Python cannot kill it (it ends as
    soon as ``func`` returns, if ever; :func:`abandoned_threads_alive` tells), and the next
    call gets a new one."""
    runner = getattr(_check_threads, "runner", None)
    if runner is None:
        runner = _check_threads.runner = _CheckThread()
    outcome, done = {}, threading.Event()
    runner.tasks.put((func, outcome, done))
    if not done.wait(timeout):
        _check_threads.runner = None
        runner.given_up = True
        runner.tasks.put(None)  # its thread ends as soon as ``func`` returns, if ever
        with _abandoned_lock:
            _abandoned.append((runner.thread, what, _abandoned_total[0]))
            _abandoned_total[0] += 1
        raise TimedOut(f"did not finish within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def abandoned_count():
    """How many check threads were given up on in this process so far."""
    return _abandoned_total[0]


def still_running_since(count, grace=ABANDON_GRACE):
    """Whether a check thread given up on since :func:`abandoned_count` was ``count`` is
    still running after waiting up to ``grace`` seconds for it: then whatever runs next in
    this process would run beside it (the runner gives up that target's remaining checks;
    the command checks the next targets in a fresh process)."""
    if abandoned_count() == count:
        return False
    return not wait_for_abandoned(grace, since=count)


def abandoned_threads(since=0):
    """What each check thread given up on at a timeout and still running was running;
    ``since``: only those given up on after :func:`abandoned_count` was that."""
    with _abandoned_lock:
        _abandoned[:] = [entry for entry in _abandoned if entry[0].is_alive()]
        return [what for _, what, serial in _abandoned if serial >= since]


def abandoned_threads_alive(since=0):
    """Whether a check thread given up on at a timeout (after :func:`abandoned_count` was
    ``since``) is still running user code (and TensorFlow) in this process: later checks
    here would run beside it, and the interpreter's shutdown may abort under it (see
    :func:`exit_process`)."""
    return bool(abandoned_threads(since))


def wait_for_abandoned(seconds, since=0):
    """Wait up to ``seconds`` for the abandoned check threads (those given up on after
    :func:`abandoned_count` was ``since``) to end; whether they all did."""
    deadline = time.monotonic() + seconds
    with _abandoned_lock:
        threads = [thread for thread, _, serial in _abandoned if serial >= since]
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not abandoned_threads_alive(since)


def exit_process(code):
    """End this process with ``code`` after the report was written. When a thread the
    checker cannot stop is still running (a check abandoned at its timeout, or a thread
    user code started and never ended), the interpreter's normal shutdown would wait for
    it forever or abort under it ("terminate called without an active exception", exit
    134): then the streams are flushed, the run ended (:func:`end_run`) and the process
    leaves at once with ``code``. Otherwise returns ``code`` for a normal exit."""
    others = [thread for thread in threading.enumerate()
              if thread is not threading.current_thread() and not thread.daemon]
    if not others and not abandoned_threads_alive():
        return code
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or replaced stream
            pass
    try:
        _at_exit()
    finally:
        os._exit(code)
