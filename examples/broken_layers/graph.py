"""Broken layers for the graph checks: code that only works eagerly, that XLA cannot
compile, or that makes TensorFlow trace a new graph on every call."""

import numpy as np
import tensorflow as tf

from keras_compat import keras


class _Elementwise(keras.layers.Layer):
    def compute_output_shape(self, input_shape):
        return input_shape


class NumpyMaxScaling(_Elementwise):
    """Breaks check_graph_matches_eager: divides each sample by its largest magnitude,
    computed with inputs.numpy(), which exists only for eager tensors, so tf.function fails."""

    def call(self, inputs):
        peak = np.max(np.abs(inputs.numpy()), axis=-1, keepdims=True) + 1e-6
        return inputs / peak


class StepDecayGain(_Elementwise):
    """Breaks check_graph_matches_eager: keeps its step count in a Python attribute, which
    tf.function reads once at tracing and freezes into the graph."""

    def __init__(self, decay=0.1, **kwargs):
        super().__init__(**kwargs)
        self.decay = decay
        self.step = 0

    def call(self, inputs):
        self.step += 1
        return inputs / (1.0 + self.decay * self.step)

    def get_config(self):
        config = super().get_config()
        config.update(decay=self.decay)
        return config


class ClipIfLarge(_Elementwise):
    """Breaks check_graph_matches_eager: branches on a NumPy test of the inputs, a Python
    value that cannot be computed from a symbolic tensor while tracing."""

    def __init__(self, limit=2.0, **kwargs):
        super().__init__(**kwargs)
        self.limit = limit

    def call(self, inputs):
        if np.any(np.abs(inputs) > self.limit):
            return tf.clip_by_value(inputs, -self.limit, self.limit)
        return inputs

    def get_config(self):
        config = super().get_config()
        config.update(limit=self.limit)
        return config


class NumpySoftsign(_Elementwise):
    """Breaks check_xla_matches_eager: computes x / (1 + |x|) in NumPy through
    tf.numpy_function, which XLA cannot compile."""

    def call(self, inputs):
        outputs = tf.numpy_function(lambda x: x / (1 + np.abs(x)), [inputs], inputs.dtype)
        outputs.set_shape(inputs.shape)
        return outputs


class FunctionPerCallTanh(_Elementwise):
    """Breaks check_no_retracing: wraps its computation in a tf.function created inside
    call(), so every call traces a new graph."""

    def call(self, inputs):
        fast_tanh = tf.function(lambda x: tf.tanh(x))
        return fast_tanh(inputs)


class PeriodicLogTanh(keras.layers.Layer):
    """Breaks check_no_retracing: passes its Python call count to a tf.function-decorated
    helper (to log every 1000th call), so every call, with a new count, traces it again."""

    def __init__(self, log_every=1000, **kwargs):
        super().__init__(**kwargs)
        self.log_every = log_every
        self.calls = 0

    @tf.function
    def _forward(self, x, step):
        if step % self.log_every == 0:
            tf.print("PeriodicLogTanh call", step)
        return tf.tanh(x)

    def call(self, inputs):
        self.calls += 1
        return self._forward(inputs, self.calls)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(log_every=self.log_every)
        return config


_VECTOR = [(4, 6)]

BROKEN = {
    "check_graph_matches_eager": [
        (NumpyMaxScaling, {}, _VECTOR),
        (StepDecayGain, {}, _VECTOR),
        (ClipIfLarge, {"limit": 0.5}, _VECTOR),
    ],
    "check_xla_matches_eager": [
        (NumpySoftsign, {}, _VECTOR),
    ],
    "check_no_retracing": [
        (FunctionPerCallTanh, {}, _VECTOR),
        (PeriodicLogTanh, {}, _VECTOR),
    ],
}
