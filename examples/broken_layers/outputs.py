"""Broken layers for the outputs checks: no tensor returned, NaN returned, ids out of range."""

import tensorflow as tf

from keras_compat import keras


class ForgetfulReturn(keras.layers.Layer):
    """Breaks check_call_returns_tensors: the training branch computes its output and falls
    off the end of call() without returning it, so layer(x, training=True) is None."""

    def call(self, inputs, training=None):
        if training:
            outputs = inputs * 0.5  # noqa: F841 - the bug: computed, never returned
        else:
            return inputs * 0.5


class UnguardedLogScale(keras.layers.Layer):
    """Breaks check_outputs_finite: a log-compression written for positive audio energies,
    applied to standard-normal activations: NaN for every negative input."""

    def call(self, inputs):
        return tf.math.log(inputs)


class UnguardedNormalize(keras.layers.Layer):
    """Breaks check_input_domain_accepted: divides by the feature norm without an epsilon, so
    an all-zero input row (zero is in an unbounded float domain) gives NaN."""

    def call(self, inputs):
        return inputs / tf.norm(inputs, axis=-1, keepdims=True)


@keras.saving.register_keras_serializable(package="broken_layers")
class OffByOneEmbedding(keras.layers.Layer):
    """Breaks check_input_domain_accepted: allocates input_dim - 1 rows ("ids start at 1")
    but looks ids up unshifted, so the last id of the vocabulary has no row."""

    def __init__(self, input_dim=50, output_dim=4, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim

    def build(self, input_shape):
        self.embeddings = self.add_weight(name="embeddings", shape=(self.input_dim - 1, self.output_dim),
                                          initializer="uniform")
        super().build(input_shape)

    def call(self, inputs):
        return tf.gather(tf.convert_to_tensor(self.embeddings), tf.cast(inputs, "int32"))

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim}


_VECTOR = [(4, 6)]

BROKEN = {
    "check_call_returns_tensors": [
        (ForgetfulReturn, {}, _VECTOR),
    ],
    "check_outputs_finite": [
        (UnguardedLogScale, {}, _VECTOR),
    ],
    "check_input_domain_accepted": [
        (UnguardedNormalize, {}, _VECTOR),
        # 2 x 3 ids from a vocabulary of 1000: the example draws miss the last id.
        (OffByOneEmbedding, {"input_dim": 1000}, ["2,3:int32@0..1000"]),
    ],
}
