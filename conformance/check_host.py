"""Running a function in a fresh process, cheaply: a check host that imports TensorFlow once.

Checks that need a process of their own (loading a saved model where nothing of the saving
process survives; a TensorFlow runtime configured with several logical devices) used to
start Python and import TensorFlow each time: seconds per check. Instead, one check host per
checking process imports TensorFlow, Keras and the checker, never runs an op, and forks a
child for each request. A child starts as a fresh process would after those imports (no
target module imported, TensorFlow's runtime not yet initialised, so it may still configure
devices), runs the function and dies; the check host stays, for the next request and target.
Requests run side by side: a long one (the distribution family, started early in the
background) does not hold up a short one (a saved model loaded in a fresh process).

Where ``os.fork`` is missing (Windows), each request starts a fresh interpreter instead.

No process outlives the run: the check host leads its own process group, registered with
:func:`conformance.isolation.adopt_child` (the checker ends it, with SIGTERM then SIGKILL,
on exit, on a signal and when it stops answering); each child leads a group of its own,
which the check host kills at the child's timeout and whenever the check host itself ends (the
checker went away, asked it to stop, or sent SIGTERM), and Linux kills a child whose check host
was killed outright. A child's temp folder is its request folder, removed with it, so the
files TensorFlow writes there (AutoGraph's generated modules) go too.
"""

import atexit
import os
import pickle
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

#: Modules the check host imports before it forks: what every child would import anyway.
_PRELOADED = ("tensorflow", "keras_compat", "conformance.isolation", "conformance.loading",
              "conformance.inputs", "conformance.tensors", "conformance.spec")


class CheckHostError(Exception):
    """The function raised in the child process; the message is its exception line, and
    ``details`` the child's traceback and error output."""

    def __init__(self, message, details=""):
        super().__init__(message)
        self.details = details


class CheckHostTimeout(CheckHostError):
    pass


def _resolve(function_path):
    module_name, _, name = function_path.partition(":")
    module = __import__(module_name, fromlist=[name])
    return getattr(module, name)


# -- the check host's side ---------------------------------------------------------------------

def _child(function_path, args, result_path, cwd=None, sys_path=(), temp_folder=None):
    """In the forked child: run the function; write ``("ok", value)`` or ``("error", text,
    traceback)`` to ``result_path``; exit without running the check host's cleanup."""
    status = 1
    try:
        if temp_folder is not None:  # removed when the request ends: whatever is written here goes
            tempfile.tempdir = os.environ["TMPDIR"] = temp_folder
        if cwd is not None:
            os.chdir(cwd)  # where the checking process is: relative target paths resolve there
        # The checking process's import path first, so a target imports here as it did there.
        sys.path[:0] = [entry for entry in sys_path if entry not in sys.path]
        value = _resolve(function_path)(*args)
        outcome = ("ok", value)
        status = 0
    except BaseException as exc:  # noqa: BLE001 - reported to the client
        last = f"{type(exc).__name__}: {exc}".strip()
        outcome = ("error", last, traceback.format_exc())
    try:
        with open(result_path, "wb") as handle:
            pickle.dump(outcome, handle)
    except Exception:  # noqa: BLE001 - an unpicklable value: say so
        with open(result_path, "wb") as handle:
            pickle.dump(("error", "the function's result cannot be sent back", ""), handle)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


#: An outcome sent as the child wrote it: ``(_PICKLED, bytes of the pickled outcome)``.
_PICKLED = "pickled"


def _start_child(function_path, args, cwd, sys_path):
    """Fork a child for one request (from the check host's main thread, so the child runs in its
    main thread as a fresh process would, with the thread-local state made at import);
    ``(pid, folder)``, the folder where it writes its result and error output."""
    folder = tempfile.mkdtemp(prefix="keras-conformance-check-host-")
    pid = os.fork()
    if pid == 0:  # the child
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the check host's clean-up
            os.setsid()  # its own group, so a timeout can end whatever it started
            from conformance.isolation import set_parent_death_signal

            set_parent_death_signal(signal.SIGKILL)  # the check host killed outright: this goes too
            fd = os.open(os.path.join(folder, "stderr.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
            os.dup2(fd, 2)
            os.dup2(fd, 1)  # the check host's stdout is its reply channel: a raw write must not reach it
            _child(function_path, args, os.path.join(folder, "result.pickle"), cwd, sys_path,
                   temp_folder=folder)
        finally:
            os._exit(1)
    with _live_lock:
        _live_children[pid] = folder
    return pid, folder


_live_children = {}  # in the check host: pid -> folder of each child not yet waited for (a process group each)
_live_lock = threading.Lock()


def _kill_live_children():
    """In the check host, on its way out: kill every child's process group, wait for them and
    remove their folders."""
    with _live_lock:
        live = dict(_live_children)
    for pid in live:
        _kill_group(pid)
    for pid, folder in live.items():
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass  # its waiting thread got it first
        shutil.rmtree(folder, ignore_errors=True)


def _finish_child(pid, folder, timeout):
    """Wait for the child (killing it at ``timeout``); the outcome tuple."""
    try:
        deadline = time.monotonic() + timeout
        while True:
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                break
            if time.monotonic() > deadline:
                _kill_group(pid)
                os.waitpid(pid, 0)
                return ("timeout", f"no result within {timeout:g} s", "")
            time.sleep(0.005)
        _kill_group(pid)  # what the child started and left running goes with it
        result_path = os.path.join(folder, "result.pickle")
        if os.path.exists(result_path):
            with open(result_path, "rb") as handle:
                return _PICKLED, handle.read()  # unpickled by the client, which imports what it needs
        with open(os.path.join(folder, "stderr.txt"), encoding="utf-8", errors="replace") as handle:
            stderr = handle.read()
        how = (f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status)
               else f"exit status {os.WEXITSTATUS(status)}")
        return ("error", f"the child process died ({how}) without a result", stderr)
    except ChildProcessError:  # the check host, ending, waited for it
        return ("error", "the check host ended while the child ran", "")
    finally:
        with _live_lock:
            _live_children.pop(pid, None)
        shutil.rmtree(folder, ignore_errors=True)


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _send(stream, obj):
    data = pickle.dumps(obj)
    stream.write(struct.pack("!Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the other side closed the channel")
    (size,) = struct.unpack("!Q", header)
    return pickle.loads(stream.read(size))


def serve():
    """The check host's loop: requests ``(request id, function path, args, timeout, cwd,
    sys.path)`` on stdin, ``(request id, outcome)`` on stdout in the order they finish;
    an empty request ends it."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # prints of the preloaded modules must not corrupt the channel

    def terminated(signum, frame):
        _kill_live_children()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the checker decides when the run stops
    try:
        _serve_requests(requests, replies)
    finally:
        _kill_live_children()  # the checker went away or asked it to stop


def _serve_requests(requests, replies):
    for name in _PRELOADED:
        __import__(name)
    reply_lock = threading.Lock()
    _send(replies, ("ready",))

    def answer(request_id, pid, folder, timeout):
        outcome = _finish_child(pid, folder, timeout)
        with reply_lock:
            _send(replies, (request_id, outcome))

    while True:
        try:
            request = _receive(requests)
        except EOFError:
            return
        if request is None:
            return
        request_id, function_path, args, timeout, cwd, sys_path = request
        pid, folder = _start_child(function_path, args, cwd, sys_path)
        # A thread per child waits for it and sends its outcome; it imports nothing (os.fork
        # holds the import lock while it forks, besides), so no child starts with it taken.
        threading.Thread(target=answer, args=(request_id, pid, folder, timeout), daemon=True).start()


# -- the client side ---------------------------------------------------------------------

class CheckHost:
    """A handle on one check host; :func:`run_in_fresh_process` uses the shared one.
    Several threads may run requests at once: a reader thread hands each reply to the
    thread waiting for it."""

    def __init__(self, environment=None):
        """``environment``: variables set in the check host besides this process's own (the
        backends' check hosts set ``KERAS_BACKEND`` before anything imports Keras)."""
        from conformance.isolation import adopt_child

        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env.update(environment or {})
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from conformance.check_host import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=os.getcwd(), env=env, start_new_session=True,
        )
        adopt_child(self.process.pid, poll=self.process.poll)
        self.lock = threading.Lock()  # guards the request channel and the waiting table
        self.waiting = {}  # request id -> [threading.Event, outcome]
        self.next_id = 0
        self.ended = None  # why the channel closed, once it has
        threading.Thread(target=self._read_replies, name="keras-conformance-check-host-replies",
                         daemon=True).start()

    def alive(self):
        return self.process.poll() is None and self.ended is None

    def _read_replies(self):
        try:
            reply = _receive(self.process.stdout)
            if reply != ("ready",):
                raise CheckHostError(f"the check host did not start: {reply!r}")
            while True:
                request_id, outcome = _receive(self.process.stdout)
                with self.lock:
                    slot = self.waiting.pop(request_id)
                slot[1] = outcome
                slot[0].set()
        except (EOFError, OSError, CheckHostError) as exc:
            self._end(f"the check host ended unexpectedly ({exc})")

    def _end(self, why):
        with self.lock:
            self.ended = why
            pending, self.waiting = self.waiting, {}
        for slot in pending.values():
            slot[1] = ("error", why, "")
            slot[0].set()
        self._stop()

    def _stop(self):
        from conformance.isolation import end_child, release_child

        end_child(self.process.pid)  # with its group: SIGTERM (it kills its children), then SIGKILL
        release_child(self.process.pid)

    def run(self, function_path, args, timeout, where=None):
        """The outcome of ``function_path(*args)`` in a child; ``where`` is the folder and
        import path it runs with (:func:`calling_context`; by default this thread's now)."""
        cwd, sys_path = where or calling_context()
        slot = [threading.Event(), None]
        with self.lock:
            if self.ended is not None:
                raise CheckHostError(self.ended)
            request_id, self.next_id = self.next_id, self.next_id + 1
            self.waiting[request_id] = slot
            try:
                request = (request_id, function_path, tuple(args), timeout, cwd, sys_path)
                _send(self.process.stdin, request)
            except OSError as exc:
                self.waiting.pop(request_id, None)
                failed = f"the check host ended unexpectedly ({exc})"
            else:
                failed = None
        if failed is not None:
            self._end(failed)
            raise CheckHostError(failed)
        slot[0].wait()  # the check host itself stops a child at its timeout and says so
        outcome = slot[1]
        if outcome[0] == _PICKLED:
            return pickle.loads(outcome[1])
        return outcome

    def close(self):
        if self.alive():
            try:
                with self.lock:
                    _send(self.process.stdin, None)
                self.process.wait(timeout=5)
            except Exception:  # noqa: BLE001 - it is going away anyway
                pass
        self._stop()


def calling_context():
    """``(current folder, sys.path with that folder spelled out)``: where a child runs from,
    so that the target imports there as it does here."""
    return os.getcwd(), [os.path.abspath(entry or os.curdir) for entry in sys.path]


_shared = None
_shared_lock = threading.Lock()


def shared_check_host():
    """The check host of this process, started on first use (and at once by :func:`prestart`)."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.alive():
            _shared = CheckHost()
            atexit.register(_shared.close)
        return _shared


def prestart():
    """Start the check host now, so that its TensorFlow import overlaps other work."""
    if hasattr(os, "fork"):
        shared_check_host()


def _run_fresh_interpreter(function_path, args, timeout, where=None):
    """Without fork: a new interpreter for the request (slow, but the same semantics)."""
    with tempfile.TemporaryDirectory(prefix="keras-conformance-check-host-") as folder:
        request_path = os.path.join(folder, "request.pickle")
        result_path = os.path.join(folder, "result.pickle")
        with open(request_path, "wb") as handle:
            pickle.dump((function_path, tuple(args), where or calling_context()), handle)
        script = ("import pickle, sys\nfrom conformance.check_host import _child\n"
                  "path, args, where = pickle.load(open(sys.argv[1], 'rb'))\n"
                  "_child(path, args, sys.argv[2], *where)\n")
        from conformance.isolation import adopt_child, end_child

        env = dict(os.environ)
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env["TMPDIR"] = folder
        child = subprocess.Popen([sys.executable, "-c", script, request_path, result_path],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                 start_new_session=True)
        adopt_child(child.pid, poll=child.poll)
        try:
            _, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            return ("timeout", f"no result within {timeout:g} s", "")
        finally:
            end_child(child.pid)  # with what it started and left running
        if os.path.exists(result_path):
            with open(result_path, "rb") as handle:
                return pickle.load(handle)
        return ("error", f"the child process died (exit status {child.returncode}) without a result",
                stderr)


def run_in_fresh_process(function_path, *args, timeout=120.0, where=None):
    """``module:function(*args)`` run in a fresh process (see the module docstring); its
    return value, or :class:`CheckHostError` / :class:`CheckHostTimeout` with the child's error.
    ``where``: see :meth:`CheckHost.run`."""
    if hasattr(os, "fork"):
        outcome = shared_check_host().run(function_path, args, timeout, where)
    else:
        outcome = _run_fresh_interpreter(function_path, args, timeout, where)
    if outcome[0] == "ok":
        return outcome[1]
    if outcome[0] == "timeout":
        raise CheckHostTimeout(outcome[1])
    raise CheckHostError(outcome[1], outcome[2] if len(outcome) > 2 else "")
