"""Layers for tests/test_parallel.py that misbehave only inside a target process of a
``--jobs`` run (a process multiprocessing started), never in the test process itself."""

import multiprocessing
import os
import re
import signal

from keras_compat import keras


def _in_a_target_process():
    return multiprocessing.parent_process() is not None


class CrashingLayer(keras.layers.Layer):
    """Kills its own process when called, as a crash in native code would."""

    def call(self, inputs):
        if _in_a_target_process():
            os.kill(os.getpid(), signal.SIGKILL)
        return inputs


class GilHoldingLayer(keras.layers.Layer):
    """Hangs while holding the GIL (a regular expression that backtracks for ever), so no
    timeout thread of the target process can report it: only the checking process can stop it."""

    def call(self, inputs):
        if _in_a_target_process():
            re.match(r"(a+)+$", "a" * 64 + "b")
        return inputs
