"""Correct layers that hand their dtype policy to their sublayers in ways a naive check of
"every sublayer has the layer's policy" would blame."""

import tensorflow as tf

from keras_compat import keras, register_serializable

_PACKAGE = "tricky_good"


@register_serializable(package=_PACKAGE)
class Float32SoftmaxAttention(keras.layers.Layer):
    """Self-attention that keeps its softmax in float32 under mixed precision on purpose (as
    KerasHub does), given dtype="float32" explicitly; under any other policy every sublayer
    gets the layer's own."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        mixed = self.dtype_policy.compute_dtype != self.dtype_policy.variable_dtype
        self.query = keras.layers.Dense(units, dtype=self.dtype_policy)
        self.key = keras.layers.Dense(units, dtype=self.dtype_policy)
        self.softmax = keras.layers.Softmax(dtype="float32" if mixed else self.dtype_policy)
        self.output_projection = keras.layers.Dense(units, dtype=self.dtype_policy)

    def build(self, input_shape):
        for dense in (self.query, self.key, self.output_projection):
            dense.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        scores = tf.matmul(self.query(inputs), self.key(inputs), transpose_b=True)
        weights = tf.cast(self.softmax(scores), self.compute_dtype)
        return self.output_projection(tf.matmul(weights, inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class _Chain(keras.layers.Layer):
    """Applies its layers in turn, like a Sequential, and holds no weights of its own (a
    Sequential made inside a layer cannot list its weights before it is built on Keras 2)."""

    def __init__(self, layers, **kwargs):
        super().__init__(**kwargs)
        self.chain = list(layers)

    def build(self, input_shape):
        for layer in self.chain:
            layer.build(input_shape)
            input_shape = layer.compute_output_shape(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        for layer in self.chain:
            inputs = layer(inputs)
        return inputs


@register_serializable(package=_PACKAGE)
class ChainOfPolicyLayers(keras.layers.Layer):
    """A feed-forward block whose container is made without dtype= (it holds no weights and
    computes nothing itself, like KerasHub's SAM decoder's Sequential), while every layer
    in it is given the block's policy."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.ffn = _Chain([
            keras.layers.Dense(units * 2, activation="relu", dtype=self.dtype_policy),
            keras.layers.Dense(units, dtype=self.dtype_policy),
        ])
        self.norm = keras.layers.LayerNormalization(dtype=self.dtype_policy)

    def build(self, input_shape):
        self.ffn.build(input_shape)
        self.norm.build(tuple(input_shape[:-1]) + (self.units,))
        super().build(input_shape)

    def call(self, inputs):
        return self.norm(self.ffn(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


#: ``label: (class, kwargs, inputs, traits)``.
CASES = {
    "Float32SoftmaxAttention": (Float32SoftmaxAttention, {"units": 8}, ["2,5,8"], set()),
    "ChainOfPolicyLayers": (ChainOfPolicyLayers, {"units": 8}, ["2,5,8"], set()),
}
