"""SimpleDense: the course's first custom layer, y = activation(x @ w + b)."""

import tensorflow as tf

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import SUBCLASSED, Reference, register


@register_serializable(package="reference_models")
class SimpleDense(keras.layers.Layer):
    """Dense layer with a random-normal kernel, a zeros bias and an optional activation.

    The notes create the weights as raw ``tf.Variable`` attributes; Keras 3 does not
    track those, so the layer would have no weights, would not train and would save
    nothing. Here they are created with ``add_weight`` under the same names.
    """

    def __init__(self, units=32, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.units),
            initializer=keras.initializers.RandomNormal(mean=0.0, stddev=0.05),
            trainable=True,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.units,), initializer="zeros", trainable=True
        )
        super().build(input_shape)

    def call(self, inputs):
        return self.activation(tf.matmul(inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=keras.activations.serialize(self.activation))
        return config


def _builtin_dense(units, activation):
    return keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer=keras.initializers.RandomNormal(mean=0.0, stddev=0.05),
    )


REFERENCE = register(
    Reference(
        name="simple_dense",
        kind="layer",
        cls=SimpleDense,
        description="SimpleDense(units, activation): x @ w + b, then the optional activation",
        seed="003_726034012fa7b10e.txt",
        section="Study Notes 2 (Example: Simple Dense Layer) and 5 (Adding Activation Functions)",
        default_kwargs={"units": 32, "activation": None},
        checker_traits=frozenset({"tensorflow_only"}),  # tf.matmul in call, as the notes write it
        input_shapes=[(4, 16)],
        builders={
            SUBCLASSED: styles.subclassed(SimpleDense),
            **styles.stack_builders(lambda units, activation: [_builtin_dense(units, activation)]),
        },
        notes_departures=("raw-tf-variable", "no-kwargs", "no-get-config", "not-registered"),
    )
)
