"""MyCustomLayer: a bias-free projection to 128 features, x @ kernel."""

import tensorflow as tf

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import SUBCLASSED, Reference, register


@register_serializable(package="reference_models")
class MyCustomLayer(keras.layers.Layer):
    """x @ kernel with a Glorot-uniform kernel of ``units`` (128 in the notes) columns."""

    def __init__(self, units=128, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        # The notes read input_shape[1]: wrong for inputs of rank 3 or more.
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units), initializer="glorot_uniform"
        )
        super().build(input_shape)

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


def builtin_equivalent(units):
    return keras.layers.Dense(units, use_bias=False, kernel_initializer="glorot_uniform")


REFERENCE = register(
    Reference(
        name="my_custom_layer",
        kind="layer",
        cls=MyCustomLayer,
        description="MyCustomLayer(): x @ kernel to 128 features, no bias, no activation",
        seed="004_c26640069bb2c47f.txt",
        section="Custom Layers: Example Code to Create a Custom Layer",
        default_kwargs={"units": 128},
        checker_traits=frozenset({"tensorflow_only"}),  # tf.matmul in call, as the notes write it
        input_shapes=[(4, 64)],
        builders={
            SUBCLASSED: styles.subclassed(MyCustomLayer),
            **styles.stack_builders(lambda units: [builtin_equivalent(units)]),
        },
        notes_departures=("add-weight-positional-name", "input-shape-index", "no-kwargs"),
    )
)
