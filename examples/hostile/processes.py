"""Hostile layers for the process boundary and for global state: small Dense-like layers
that hang in a child process (ignoring SIGTERM, with a grandchild of their own), end the
process with ``os._exit`` or a segfault, or change process-wide settings in ``call``.
tests/test_hostile_processes.py checks that each is that check's (or target's) own row,
that no process and no file outlives the run, and that the other targets' verdicts are
those they get alone.

``HOSTILE_FLAG_DIR`` (an environment variable), when set, is where a layer that hangs
writes a file named after its pid as it starts hanging, so a test knows when to act.
"""

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

from keras_compat import keras
import keras_compat as compat
import tensorflow as tf


class _Dense(keras.layers.Layer):
    """A correct Dense without bias; the hostile layers below change one thing."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))

    def call(self, inputs):
        return compat.ops.matmul(inputs, self.kernel)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _in_checker_child():
    """Whether this runs in a process the checker forked from its fresh-process worker
    (started as ``python -c ...``): the fresh-process load and the distribution family."""
    return sys.argv[:1] == ["-c"]


def _hang_like_a_bad_child():
    """Ignore SIGTERM, start a grandchild that sleeps, say so, and sleep."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    flags = os.environ.get("HOSTILE_FLAG_DIR")
    if flags:
        with open(os.path.join(flags, str(os.getpid())), "w") as handle:
            handle.write("hanging")
    while True:
        time.sleep(1)


@keras.saving.register_keras_serializable(package="hostile_processes")
class HangsInChildProcess(_Dense):
    """Correct in the checking process; in a child process the checker starts, it hangs,
    ignores SIGTERM and leaves a grandchild."""

    def call(self, inputs):
        if _in_checker_child() and tf.executing_eagerly():
            _hang_like_a_bad_child()
        return super().call(inputs)


class SleepsUnderAStrategy(_Dense):
    """Correct on one device; under a tf.distribute strategy (the distribution family's
    replicas' process) every call sleeps half a minute, so that process outlives any short
    timeout whatever the machine's speed (SIGTERM ends the sleep)."""

    def call(self, inputs):
        if tf.distribute.has_strategy():
            time.sleep(30)
        return super().call(inputs)


#: Set to let every HangsInCall that hangs in this process go on (tests end its thread so).
RELEASE = threading.Event()


class HangsInCall(_Dense):
    """Hangs in the checking process's check thread once it is built (the probe passes),
    until :data:`RELEASE` is set."""

    def call(self, inputs):
        if getattr(self, "_called_once", False) and tf.executing_eagerly():
            flags = os.environ.get("HOSTILE_FLAG_DIR")
            if flags:
                with open(os.path.join(flags, f"thread-{os.getpid()}"), "w") as handle:
                    handle.write("hanging")
            while not RELEASE.wait(0.05):
                pass
        self._called_once = True
        return super().call(inputs)


class ExitsHardInCall(_Dense):
    """``os._exit(0)`` in ``call``: nothing in the process can catch it."""

    def call(self, inputs):
        os._exit(0)


class SegfaultsInCall(_Dense):
    """Reads address 0 in ``call``: the process dies of SIGSEGV."""

    def call(self, inputs):
        ctypes.string_at(0)
        return super().call(inputs)


class ChangesGlobalsInCall(_Dense):
    """A correct layer whose ``call`` changes every process-wide setting it can reach:
    floatx, the dtype policy, the image data format, epsilon, unsafe deserialization,
    TensorFlow's eager switch and an environment variable."""

    def call(self, inputs):
        keras.backend.set_floatx("float16")
        compat.set_global_policy("mixed_float16")
        keras.backend.set_image_data_format("channels_first")
        keras.backend.set_epsilon(0.5)
        compat.enable_unsafe_deserialization()
        tf.config.run_functions_eagerly(True)
        os.environ["KERAS_CONFORMANCE_DISTRIBUTION_DEVICES"] = "gpu"
        os.environ["HOSTILE_LEFT_BEHIND"] = "1"
        return compat.ops.matmul(compat.ops.cast(inputs, "float32"), compat.ops.cast(self.kernel, "float32"))
