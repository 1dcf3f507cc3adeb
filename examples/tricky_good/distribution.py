"""Correct layers that a naive distribution check blames: randomness in training that the
target's ``call`` does not show (no ``training`` argument, a Dropout inside)."""

from keras_compat import keras, register_serializable


@register_serializable(package="tricky_good")
class DropoutInsideWithoutTrainingArgument(keras.layers.Layer):
    """A projection followed by dropout, whose ``call`` takes no ``training``: Keras hands the
    training mode to the Dropout inside, so fit drops units where inference does not, and
    each replica draws its own units (issue 17 item 15)."""

    def __init__(self, units=4, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.units, self.rate = units, rate
        self.projection = keras.layers.Dense(units)
        self.dropout = keras.layers.Dropout(rate)

    def build(self, input_shape):
        self.projection.build(input_shape)

    def call(self, inputs):
        return self.dropout(self.projection(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "rate": self.rate}
