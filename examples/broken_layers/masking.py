"""Broken layers for the masking checks: masks ignored, dropped, mis-shaped or eager-only."""

import tensorflow as tf

from keras_compat import keras


class MaskIgnoringMeanPool(keras.layers.Layer):
    """Breaks check_masked_values_ignored: takes the mask (so Keras stops warning) but averages
    over every time step, padding included."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return tf.reduce_mean(inputs, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="broken_layers")
class MaskIgnoringAttention(keras.layers.Layer):
    """Breaks check_masked_values_ignored: a dot-product attention block called as
    block(query=..., value=..., attention_mask=...) that accepts the mask and never applies
    it, so padded value positions get attention weight."""

    def call(self, query, value, attention_mask=None):
        scores = tf.matmul(query, value, transpose_b=True) / tf.sqrt(tf.cast(tf.shape(query)[-1], query.dtype))
        return tf.matmul(tf.nn.softmax(scores, axis=-1), value)


class SilentMaskDropper(keras.layers.Layer):
    """Breaks check_dropped_mask_reported: a scaling layer put between Embedding(mask_zero=True)
    and an LSTM; it overrides compute_mask to return None "to be safe", so the LSTM downstream
    silently sees no mask and Keras has nothing to warn about."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class UnmaskedScale(keras.layers.Layer):
    """Breaks check_dropped_mask_reported: a time-local scaling layer that never declares
    mask support. Keras 3 warns that it "will destroy the mask" and drops it, Keras 2 drops
    it without a word: either way an LSTM downstream of Embedding(mask_zero=True) reads the
    padding as data, although the scaled steps line up with the mask exactly."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class StridedMaskPassThrough(keras.layers.Layer):
    """Breaks check_mask_propagation: halves the time axis with a stride but declares
    supports_masking, so Keras hands the full-length input mask to the shorter output."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs[:, ::2, :]


class EagerOnlyMask(keras.layers.Layer):
    """Breaks check_compute_mask_matches_functional: computes its output mask with NumPy
    (mask.numpy()), which works in an eager call and fails on the symbolic tensors of the
    Functional API."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs):
        return inputs * 2.0

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        return tf.constant(mask.numpy())


_SEQUENCE = ["2,5,3"]
_MASKED_SEQUENCE = ["2,5,3", "mask=2,5:bool"]

BROKEN = {
    "check_mask_propagation": [
        (StridedMaskPassThrough, {}, _SEQUENCE),
    ],
    "check_masked_values_ignored": [
        (MaskIgnoringMeanPool, {}, _MASKED_SEQUENCE),
        (MaskIgnoringAttention, {}, ["query=2,4,8", "value=2,5,8", "attention_mask=2,4,5:bool"]),
    ],
    "check_compute_mask_matches_functional": [
        (EagerOnlyMask, {}, _SEQUENCE),
    ],
    "check_dropped_mask_reported": [
        (SilentMaskDropper, {}, _SEQUENCE),
        (UnmaskedScale, {}, _SEQUENCE),
    ],
}
