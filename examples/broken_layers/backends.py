"""Layers that break the backends contracts: TensorFlow ops where Keras 3 needs keras.ops.

Each runs on the TensorFlow backend (eagerly, and the first two in a Functional model too)
and fails on JAX and PyTorch, where a ``tf.`` op meets a JAX tracer or a PyTorch tensor."""

import tensorflow as tf

from keras_compat import keras, register_serializable

_VECTOR = [(4, 7)]
_SEQUENCE = [(2, 5, 3)]


class _Dense(keras.layers.Layer):
    """A portable dense layer the broken ones start from: x @ kernel + bias with keras.ops."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="random_normal")

    def call(self, inputs, training=None):
        return keras.ops.matmul(inputs, self.kernel) + self.bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package="broken_layers")
class TensorFlowOpInCall(_Dense):
    """Breaks every backends check: ``tf.nn.relu`` and ``tf.matmul`` in ``call`` (a layer
    ported from Keras 2 by changing its imports only)."""

    def call(self, inputs, training=None):
        return tf.nn.relu(tf.matmul(inputs, self.kernel) + self.bias)


@register_serializable(package="broken_layers")
class TensorFlowOpInTrainingBranch(_Dense):
    """Breaks check_backend_fit_step_matches: clips its activations with ``tf.clip_by_value``
    in training only, so inference (and its outputs, gradients and saved file) is portable
    but a fit step on JAX or PyTorch is not."""

    def call(self, inputs, training=None):
        outputs = super().call(inputs)
        if training:
            outputs = tf.clip_by_value(outputs, -1.0, 1.0)
        return outputs


@register_serializable(package="broken_layers")
class TensorFlowOpInComputeMask(keras.layers.Layer):
    """Breaks check_backend_outputs_match: masks the time steps that are all zeros with
    ``tf.reduce_any`` in ``compute_mask``, which Keras 3 calls on symbolic inputs in a
    Functional model, on TensorFlow as on every other backend."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs * 2.0

    def compute_mask(self, inputs, mask=None):
        return tf.reduce_any(tf.not_equal(inputs, 0.0), axis=-1)


def _options(cls):
    return {"tier": "full", "import_path": f"examples/broken_layers/backends.py:{cls.__name__}"}


BROKEN = {
    "check_backend_outputs_match": [
        (TensorFlowOpInCall, {"units": 4}, _VECTOR),
        (TensorFlowOpInComputeMask, {}, _SEQUENCE),
    ],
    "check_backend_gradients_match": [(TensorFlowOpInCall, {"units": 4}, _VECTOR)],
    "check_backend_keras_file_portable": [(TensorFlowOpInCall, {"units": 4}, _VECTOR)],
    "check_backend_fit_step_matches": [
        (TensorFlowOpInCall, {"units": 4}, _VECTOR),
        (TensorFlowOpInTrainingBranch, {"units": 4}, _VECTOR),
    ],
}

#: The backends' processes import each class by its file: the full tier and an import path.
SPEC_OPTIONS = {cls: _options(cls) for cls in (TensorFlowOpInCall, TensorFlowOpInTrainingBranch,
                                               TensorFlowOpInComputeMask)}
