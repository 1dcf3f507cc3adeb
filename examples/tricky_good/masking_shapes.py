"""Correct layers that naive masking and shape checks blame: blocks that take their masks
as arguments, a layer whose output is a mask, an elementwise layer that hands the mask on,
a layer that mixes time steps and so may drop the mask, and the ways Keras lets a layer
declare its output shapes (``compute_output_spec`` alone, one ``input_shape`` parameter
for a list of inputs, ``<argument>_shape`` keywords, call keywords that change the output)."""

import tensorflow as tf

from keras_compat import keras, register_serializable

_PACKAGE = "tricky_good"


def _attend(query, value, mask=None):
    """Scaled dot-product attention; ``mask`` (batch, queries, keys) hides keys where False."""
    scores = tf.matmul(query, value, transpose_b=True) / tf.sqrt(tf.cast(tf.shape(query)[-1], query.dtype))
    if mask is not None:  # a large negative float16 holds too (-1e9 would be -inf, and 0 * inf NaN)
        scores = tf.where(tf.cast(mask, tf.bool), scores, tf.constant(-1e4, scores.dtype))
    weights = tf.nn.softmax(scores, axis=-1)
    return tf.matmul(weights, value), weights


@register_serializable(package=_PACKAGE)
class ExplicitMaskBlock(keras.layers.Layer):
    """A transformer-style block called as ``block([x, attention_mask])``: the mask is an
    input like any other, applied in the attention; the block neither supports nor hands on
    an implicit Keras mask (it mixes time steps, so it may drop one)."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.query = keras.layers.Dense(units)
        self.value = keras.layers.Dense(units)
        self.norm = keras.layers.LayerNormalization()

    def build(self, input_shape):
        x_shape = tuple(input_shape[0])
        self.query.build(x_shape)
        self.value.build(x_shape)
        self.norm.build(x_shape[:-1] + (self.units,))
        super().build(input_shape)

    def call(self, inputs):
        x, attention_mask = inputs
        attended, _ = _attend(self.query(x), self.value(x), attention_mask)
        return self.norm(x + attended)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class PaddingMaskEncoder(keras.layers.Layer):
    """A keras-hub-style encoder called as ``encoder(x, padding_mask=mask)``: the padding
    mask hides key positions in a self-attention, then a per-step projection."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.projection = keras.layers.Dense(units)

    def build(self, input_shape):
        self.projection.build(tuple(input_shape))
        super().build(input_shape)

    def call(self, inputs, padding_mask=None):
        mask = None if padding_mask is None else padding_mask[:, None, :]
        attended, _ = _attend(inputs, inputs, mask)
        return self.projection(inputs + attended)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1] + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class NonZeroStepMask(keras.layers.Layer):
    """Outputs a mask: which time steps hold a non-zero feature (a bool ``(batch, time)``
    tensor, as a padding-mask builder does). Its output is a mask, not data to mask."""

    def call(self, inputs):
        return tf.reduce_any(tf.not_equal(inputs, 0.0), axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)[:-1]


@register_serializable(package=_PACKAGE)
class MaskedScale(keras.layers.Layer):
    """An elementwise scaling that declares ``supports_masking``: Keras hands the mask on."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor
        self.supports_masking = True

    def call(self, inputs):
        return inputs * self.factor

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@register_serializable(package=_PACKAGE)
class CumulativeSum(keras.layers.Layer):
    """A running sum over time: it keeps the time axis but each step mixes all the steps
    before it, so the input mask no longer describes its output; it may drop it."""

    def call(self, inputs):
        return tf.cumsum(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape


@register_serializable(package=_PACKAGE)
class MeanAndLast(keras.layers.Layer):
    """Returns (mean over time, last step) and declares them through Keras 3's
    ``compute_output_spec`` only (Keras 2 never asks for it: it traces ``call``)."""

    def call(self, inputs):
        return tf.reduce_mean(inputs, axis=1), inputs[:, -1]

    def compute_output_spec(self, inputs):
        shape = (inputs.shape[0], inputs.shape[-1])
        return (keras.KerasTensor(shape, dtype=self.compute_dtype),
                keras.KerasTensor(shape, dtype=self.compute_dtype))


@register_serializable(package=_PACKAGE)
class PairConcat(keras.layers.Layer):
    """Concatenates two inputs given as a list; its ``compute_output_shape`` names its one
    parameter ``input_shape`` and receives the list of the two shapes."""

    def call(self, inputs):
        return tf.concat(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        first, second = (tuple(shape) for shape in input_shape)
        return first[:-1] + (first[-1] + second[-1],)


@register_serializable(package=_PACKAGE)
class KeywordAttention(keras.layers.Layer):
    """Attention called as ``layer(query=..., value=...)`` that returns, for each query, the
    attended value and its weights over the value steps; it declares its output the Keras 3
    way: ``compute_output_shape(self, query_shape, value_shape)``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # its output steps are the query's: it hands on the query mask

    def call(self, query, value):
        return tf.concat(_attend(query, value), axis=-1)

    def compute_output_shape(self, query_shape, value_shape):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        steps = value_shape[1]  # None for a variable-length value
        return query_shape[:-1] + (None if steps is None else value_shape[-1] + steps,)


@register_serializable(package=_PACKAGE)
class ScoresOnRequest(keras.layers.Layer):
    """Attention that also returns its weights when called with
    ``return_attention_scores=True``, as ``MultiHeadAttention`` does: ``compute_output_shape``
    declares the default output; Keras 3's ``compute_output_spec`` follows the keyword."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # its output steps are the query's: it hands on the query mask

    def call(self, query, value, return_attention_scores=False):
        output, scores = _attend(query, value)
        return (output, scores) if return_attention_scores else output

    def compute_output_shape(self, query_shape, value_shape):
        return tuple(query_shape)[:-1] + (tuple(value_shape)[-1],)

    def compute_output_spec(self, query, value, return_attention_scores=False):
        output = keras.KerasTensor(self.compute_output_shape(query.shape, value.shape), dtype=self.compute_dtype)
        if not return_attention_scores:
            return output
        scores = keras.KerasTensor(tuple(query.shape)[:-1] + (value.shape[1],), dtype=self.compute_dtype)
        return output, scores


#: ``label: (class, kwargs, inputs, traits)`` for the tests and the verdict sweeps.
CASES = {
    "ExplicitMaskBlock": (ExplicitMaskBlock, {}, ["2,5,8", "2,5,5:bool"], set()),
    "PaddingMaskEncoder": (PaddingMaskEncoder, {}, ["2,5,8", "padding_mask=2,5:bool"], set()),
    "NonZeroStepMask": (NonZeroStepMask, {}, ["2,5,3"], set()),
    "MaskedScale": (MaskedScale, {}, ["2,5,3"], set()),
    "CumulativeSum": (CumulativeSum, {}, ["2,5,3"], set()),
    "MeanAndLast": (MeanAndLast, {}, ["2,5,3"], set()),
    "PairConcat": (PairConcat, {}, ["3,4", "3,5"], set()),
    "KeywordAttention": (KeywordAttention, {}, ["query=2,4,8", "value=2,5,8"], set()),
    "ScoresOnRequest": (ScoresOnRequest, {}, ["query=2,4,8", "value=2,5,8"], set()),
}

#: Spec options beyond kwargs and inputs, by label.
SPEC_OPTIONS = {
    "ScoresOnRequest": {"call_kwargs": {"return_attention_scores": True}},
}
