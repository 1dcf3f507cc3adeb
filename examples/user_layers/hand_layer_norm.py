"""A hand-written layer normalization, meant to compute what ``keras.layers.LayerNormalization``
computes (last axis, ``gamma`` then ``beta``, epsilon 1e-3):

    keras-conformance check examples/user_layers/hand_layer_norm.py:HandLayerNorm \\
        --input 3,6 --reference keras.layers:LayerNormalization

Its NumPy formula is ``examples/user_layers/formulas.py:layer_norm`` (``--reference
examples/user_layers/formulas.py:layer_norm``; the module form needs the repository root on
``PYTHONPATH``)."""

import tensorflow as tf

from keras_compat import keras, register_serializable


class _TensorFlowOps:
    """The four ``keras.ops`` functions the layer uses, for Keras 2, which has no keras.ops."""

    cast = staticmethod(tf.cast)
    sqrt = staticmethod(tf.sqrt)

    @staticmethod
    def mean(x, axis, keepdims=False):
        return tf.reduce_mean(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def var(x, axis, keepdims=False):
        return tf.math.reduce_variance(x, axis=axis, keepdims=keepdims)


#: keras.ops where there is one, so the layer runs on every Keras 3 backend.
ops = getattr(keras, "ops", None) or _TensorFlowOps


@register_serializable(package="user_layers")
class HandLayerNorm(keras.layers.Layer):
    """(x - mean) / sqrt(variance + epsilon) * gamma + beta over the last axis."""

    def __init__(self, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        shape = (input_shape[-1],)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")

    def _normalized(self, x):
        mean = ops.mean(x, axis=-1, keepdims=True)
        variance = ops.var(x, axis=-1, keepdims=True)
        return (x - mean) / ops.sqrt(variance + self.epsilon)

    def _scaled(self, normalized, dtype):
        return normalized * ops.cast(self.gamma, dtype) + ops.cast(self.beta, dtype)

    def call(self, inputs):
        # float16 and bfloat16 have too few bits for the variance: compute in float32 then
        dtype = "float32" if self.compute_dtype in ("float16", "bfloat16") else self.compute_dtype
        outputs = self._scaled(self._normalized(ops.cast(inputs, dtype)), dtype)
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
