"""Hostile layers: small Dense-like layers that do what code under test may do to the
process checking it (exit, raise KeyboardInterrupt, print, take over sys.stdout, leave a
thread running, sleep, raise an exception that cannot be printed). The checker must turn
each into that check's own row and keep its report intact (tests/test_hostile_run.py)."""

import math
import sys
import threading
import time

from keras_compat import keras
import keras_compat as compat


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


class ExitsInCall(_Dense):
    def call(self, inputs):
        sys.exit(0)


class ExitsWithThreeInCall(_Dense):
    def call(self, inputs):
        sys.exit(3)


class ExitsInTrainingCall(_Dense):
    def call(self, inputs, training=None):
        if training:
            sys.exit(0)
        return super().call(inputs)


class ExitsInInit(_Dense):
    def __init__(self, units=2, **kwargs):
        super().__init__(units, **kwargs)
        sys.exit(0)


class InterruptsInCall(_Dense):
    def call(self, inputs):
        raise KeyboardInterrupt


class PrintsInCall(_Dense):
    def call(self, inputs):
        print("hello from the layer's call")
        return super().call(inputs)


class TakesStdout(_Dense):
    """Points sys.stdout at a sink of its own the first time it is called."""

    def call(self, inputs):
        class _Sink:
            def write(self, text):
                return len(text)

            def flush(self):
                pass

        sys.stdout = _Sink()
        return super().call(inputs)


def _forever():
    while True:
        time.sleep(0.5)


class LeavesThread(_Dense):
    """Starts a non-daemon thread that never ends."""

    def __init__(self, units=2, **kwargs):
        super().__init__(units, **kwargs)
        threading.Thread(target=_forever, name="left-by-the-layer", daemon=False).start()


class _Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no message for you")


class RaisesUnprintable(_Dense):
    def call(self, inputs):
        raise _Unprintable()


class RaisesControlCharacters(_Dense):
    def call(self, inputs):
        raise ValueError("bad \x00 byte \x1b[31m and \x07 bell \x0b vertical tab \ud800 lone surrogate")


class SleepsInCall(_Dense):
    """Sleeps long enough in call that a signal or a budget finds it running."""

    def call(self, inputs):
        time.sleep(30)
        return super().call(inputs)


class TakesKwarg(_Dense):
    """A correct layer with one float kwarg (given NaN in the tests)."""

    def __init__(self, units=2, scale=1.0, **kwargs):
        super().__init__(units, **kwargs)
        self.scale = scale

    def call(self, inputs):
        scale = 1.0 if math.isnan(self.scale) else self.scale
        return super().call(inputs) * scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


class SlowCall(_Dense):
    """A correct layer whose every call takes 0.3 s: enough checks outlast a small budget."""

    def call(self, inputs):
        time.sleep(0.3)
        return super().call(inputs)
