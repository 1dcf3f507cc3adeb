"""Dropout as the notes describe it: random zeroing in training, the identity in inference."""

import tensorflow as tf

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import SUBCLASSED, Reference, register


@register_serializable(package="reference_models")
class InvertedDropout(keras.layers.Layer):
    """In training, zero each element with probability ``rate`` and scale the rest by
    1 / (1 - rate); in inference (``training`` false or not given), return the input."""

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.rate = rate

    def call(self, inputs, training=None):
        if training and self.rate > 0.0:
            return tf.nn.dropout(inputs, rate=self.rate)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate)
        return config


REFERENCE = register(
    Reference(
        name="dropout",
        kind="layer",
        cls=InvertedDropout,
        description="Dropout(rate): drops units in training only, identity in inference",
        seed="002_a422cb99f433e80a.txt",
        section="Training vs Inference Behavior (Dropout)",
        default_kwargs={"rate": 0.5},
        input_shapes=[(8, 32)],
        builders={
            SUBCLASSED: styles.subclassed(InvertedDropout),
            **styles.stack_builders(lambda rate: [keras.layers.Dropout(rate)]),
        },
        traits=frozenset({"weightless", "stochastic_in_training", "training_dependent"}),
    )
)
