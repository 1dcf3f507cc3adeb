"""Layers that break the shapes contracts."""

import tensorflow as tf

from keras_compat import keras, register_serializable

_VECTOR = [(4, 7)]
_SEQUENCE = [(4, 5, 3)]


@register_serializable(package="broken_layers")
class StaticBatchFlatten(keras.layers.Layer):
    """Breaks check_symbolic_unknown_batch: reshapes with ``inputs.shape[0]``, which is None
    on a keras.Input and inside a traced ``fit`` step."""

    def call(self, inputs):
        return tf.reshape(inputs, (inputs.shape[0], -1))


@register_serializable(package="broken_layers")
class StaticBatchFlattenWithShape(StaticBatchFlatten):
    """Breaks check_symbolic_unknown_batch: the same ``inputs.shape[0]`` reshape, hidden from
    Keras 3's symbolic calls by a correct ``compute_output_shape``; a traced fit step fails."""

    def compute_output_shape(self, input_shape):
        rest = 1
        for dim in input_shape[1:]:
            rest *= dim
        return (input_shape[0], rest)


@register_serializable(package="broken_layers")
class FixedBatchFlatten(keras.layers.Layer):
    """Breaks check_symbolic_unknown_batch: reshapes to the batch size given at construction,
    so the symbolic output claims that fixed batch size."""

    def __init__(self, batch_size=None, **kwargs):
        super().__init__(**kwargs)
        self.batch_size = batch_size

    def call(self, inputs):
        return tf.reshape(inputs, (self.batch_size or inputs.shape[0], -1))

    def get_config(self):
        return {**super().get_config(), "batch_size": self.batch_size}


@register_serializable(package="broken_layers")
class ShapeLyingDense(keras.layers.Layer):
    """Breaks check_output_shapes_agree: ``compute_output_shape`` returns the input shape,
    although call() maps the last dimension to ``units``."""

    def __init__(self, units=3, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel) + self.bias

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package="broken_layers")
class ShapeLyingPair(keras.layers.Layer):
    """Breaks check_output_shapes_agree: returns (mean over time, last step) but declares
    the sequence shape for both outputs."""

    def call(self, inputs):
        return tf.reduce_mean(inputs, axis=1), inputs[:, -1]

    def compute_output_shape(self, input_shape):
        return (input_shape, input_shape)


@register_serializable(package="broken_layers")
class ValueShapedAttention(keras.layers.Layer):
    """Breaks check_output_shapes_agree: attention called as ``layer(query=..., value=...)``
    whose Keras 3-style ``compute_output_shape(self, query_shape, value_shape)`` returns the
    value's shape, although each output step is a query step."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # hands the query's mask on: its one defect is the shape

    def call(self, query, value):
        scores = tf.matmul(query, value, transpose_b=True)
        return tf.matmul(tf.nn.softmax(scores, axis=-1), value)

    def compute_output_shape(self, query_shape, value_shape):
        return value_shape


@register_serializable(package="broken_layers")
class PerBatchScale(keras.layers.Layer):
    """Breaks check_batch_sizes: creates its scale with ``shape=input_shape``, batch size
    included, so other batch sizes broadcast wrongly or fail."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=tuple(input_shape), initializer="ones")

    def call(self, inputs):
        return inputs * self.scale


@register_serializable(package="broken_layers")
class StaticLengthSplitHeads(keras.layers.Layer):
    """Breaks check_symbolic_unknown_length: splits the features into two heads with
    ``inputs.shape[1]`` as a Python int, which is None for a variable-length keras.Input."""

    def call(self, inputs):
        heads = tf.reshape(inputs, (-1, inputs.shape[1], 2, inputs.shape[2] // 2))
        return tf.reduce_mean(heads, axis=2)


@register_serializable(package="broken_layers")
class StaticLengthMean(keras.layers.Layer):
    """Breaks check_symbolic_unknown_length: averages over time with weights made by
    ``tf.ones((inputs.shape[1], 1))``; a correct ``compute_output_shape`` hides it from
    Keras 3's symbolic call, a trace with an unknown length reaches it."""

    def call(self, inputs):
        weights = tf.ones((inputs.shape[1], 1)) / inputs.shape[1]
        return tf.reduce_sum(inputs * weights, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


@register_serializable(package="broken_layers")
class LearnedPositionOffset(keras.layers.Layer):
    """Breaks check_lengths_vary: adds a learnt offset per position whose table is shaped by
    the length seen in build, so a layer built at one length fails at any other."""

    def build(self, input_shape):
        self.offsets = self.add_weight(name="offsets", shape=tuple(input_shape[1:]), initializer="zeros")

    def call(self, inputs):
        return inputs + self.offsets


@register_serializable(package="broken_layers")
class FrozenLengthShape(keras.layers.Layer):
    """Breaks check_lengths_vary: ``compute_output_shape`` declares the length seen in build,
    although call() follows the length of its input."""

    def build(self, input_shape):
        self.length = input_shape[1]

    def call(self, inputs):
        return inputs * 2.0

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.length, input_shape[2])


@register_serializable(package="broken_layers")
class FrozenLengthMask(keras.layers.Layer):
    """Breaks check_lengths_vary: hands on a padding mask (every step kept) made by repeating
    a per-sample flag for the length seen in build, so at another length the mask no longer
    covers its output's steps."""

    def build(self, input_shape):
        self.length = input_shape[1]
        self.repeat = keras.layers.RepeatVector(self.length)

    def call(self, inputs):
        return inputs * 2.0

    def compute_mask(self, inputs, mask=None):
        flags = self.repeat(inputs[:, 0, :1])[:, :, 0]  # (batch, built length)
        return flags == flags


BROKEN = {
    "check_symbolic_unknown_batch": [
        (StaticBatchFlatten, {}, _SEQUENCE),
        (StaticBatchFlattenWithShape, {}, _SEQUENCE),
        (FixedBatchFlatten, {"batch_size": 4}, _SEQUENCE),
    ],
    "check_output_shapes_agree": [
        (ShapeLyingDense, {"units": 3}, _VECTOR),
        (ShapeLyingPair, {}, _SEQUENCE),
        (ValueShapedAttention, {}, ["query=2,4,8", "value=2,6,8"]),
    ],
    "check_batch_sizes": [(PerBatchScale, {}, _VECTOR)],
    "check_symbolic_unknown_length": [
        (StaticLengthSplitHeads, {}, [(4, 5, 6)]),
        (StaticLengthMean, {}, _SEQUENCE),
    ],
    "check_lengths_vary": [
        (LearnedPositionOffset, {}, _SEQUENCE),
        (FrozenLengthShape, {}, _SEQUENCE),
        (FrozenLengthMask, {}, _SEQUENCE),
    ],
}
