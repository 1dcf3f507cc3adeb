"""Running user code without letting it change the caller's world.

Every check runs inside :func:`isolated`: the dtype policy, floatx, the random seeds of
Python, NumPy, TensorFlow and Keras, Keras's registry of serializable objects and the
working directory are put back afterwards, whatever the check did or raised, and the
scratch directories it made are deleted.
"""

import contextlib
import os
import queue
import random
import shutil
import tempfile
import threading

import numpy as np

import keras_compat as compat

_scratch_dirs = []  # every scratch directory made and not yet removed, in creation order
_scratch_lock = threading.Lock()


def snapshot():
    return {
        "policy": compat.global_policy_name(),
        "floatx": compat.keras.backend.floatx(),
        "python_random": random.getstate(),
        "numpy_random": np.random.get_state(),
        "tf_seed": compat.tf_global_seed(),
        "keras_seed": compat.keras_global_seed(),
        "registry": compat.registration_snapshot(),
        "cwd": os.getcwd(),
    }


def restore(state):
    compat.set_global_policy(state["policy"])
    compat.keras.backend.set_floatx(state["floatx"])
    random.setstate(state["python_random"])
    np.random.set_state(state["numpy_random"])
    compat.restore_tf_global_seed(state["tf_seed"])
    compat.restore_keras_global_seed(state["keras_seed"])
    compat.registration_restore(state["registry"])
    os.chdir(state["cwd"])  # unconditionally: the current one may have been deleted


@contextlib.contextmanager
def isolated():
    """Restore global state and remove scratch directories on exit, even after errors."""
    state = snapshot()
    with _scratch_lock:
        first = len(_scratch_dirs)
    try:
        yield
    finally:
        restore(state)
        with _scratch_lock:
            made_here = _scratch_dirs[first:]
            del _scratch_dirs[first:]
        for directory in made_here:
            shutil.rmtree(directory, ignore_errors=True)


def scratch_dir():
    """A new temporary directory, deleted when the surrounding :func:`isolated` ends."""
    directory = tempfile.mkdtemp(prefix="keras-conformance-")
    with _scratch_lock:
        _scratch_dirs.append(directory)
    return directory


class TimedOut(Exception):
    pass


class _CheckThread:
    """A daemon thread that runs the functions handed to it one after another, each inside
    :func:`isolated` (Keras 3 keeps some global state per thread: it is restored there too).
    One thread serves many checks; starting a thread per check costs more than most checks."""

    def __init__(self):
        self.tasks = queue.SimpleQueue()
        thread = threading.Thread(target=self._serve, name="keras-conformance-check", daemon=True)
        thread.start()

    def _serve(self):
        compat.prepare_thread()
        while True:
            func, outcome, done = self.tasks.get()
            try:
                with isolated():
                    outcome["value"] = func()
            except BaseException as exc:  # noqa: BLE001 - handed back to the calling thread
                outcome["error"] = exc
            done.set()


_check_threads = threading.local()  # each calling thread has its own check thread


def run_with_timeout(func, timeout):
    """Run ``func()`` in a check thread; raise :class:`TimedOut` if it has not returned after
    ``timeout`` seconds (that thread is then abandoned, as Python cannot kill it, and the
    next call gets a new one)."""
    runner = getattr(_check_threads, "runner", None)
    if runner is None:
        runner = _check_threads.runner = _CheckThread()
    outcome, done = {}, threading.Event()
    runner.tasks.put((func, outcome, done))
    if not done.wait(timeout):
        _check_threads.runner = None
        raise TimedOut(f"did not finish within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
