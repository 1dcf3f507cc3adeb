"""CustomDense: a dense layer with the ReLU built into ``call``."""

import tensorflow as tf

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import SUBCLASSED, Reference, register


@register_serializable(package="reference_models")
class CustomDense(keras.layers.Layer):
    """relu(x @ w + b) with a random-normal kernel and a zeros bias."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.units),
            initializer="random_normal",
            trainable=True,
        )
        self.b = self.add_weight(
            name="bias", shape=(self.units,), initializer="zeros", trainable=True
        )
        super().build(input_shape)

    def call(self, inputs):
        return tf.nn.relu(tf.matmul(inputs, self.w) + self.b)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


def builtin_equivalent(units):
    return keras.layers.Dense(units, activation="relu", kernel_initializer="random_normal")


REFERENCE = register(
    Reference(
        name="custom_dense",
        kind="layer",
        cls=CustomDense,
        description="CustomDense(units): relu(x @ w + b)",
        seed="001_0854074d2154e8f5.txt",
        section="Example: Custom Dense Layer With ReLU",
        default_kwargs={"units": 32},
        checker_traits=frozenset({"tensorflow_only"}),  # tf.nn.relu and tf.matmul in call, as the notes write it
        input_shapes=[(4, 16)],
        builders={
            SUBCLASSED: styles.subclassed(CustomDense),
            **styles.stack_builders(lambda units: [builtin_equivalent(units)]),
        },
        notes_departures=("custom-dense-syntax", "no-kwargs", "no-get-config", "not-registered"),
    )
)
