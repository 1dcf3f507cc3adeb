"""CNNResidual, DNNResidual and MyResidual, as in the notes.

Seed ``000_b308ee707a376633.txt``, Study Notes 5 (Implementing Residual Blocks in
TensorFlow/Keras: CNNResidual, DNNResidual, Combining Residual Blocks in a Model). The
classes are verbatim; the import line is added because the notes use ``Layer``,
``Model``, ``Conv2D`` and ``Dense`` without importing them.

Errata: ``cnn-residual-padding`` (unpadded 3x3 convolutions: ``inputs + x`` fails on
shape), ``my-residual-shapes`` (Dense(30) into CNNResidual(2, 32), the padding, then 32
channels into DNNResidual(2, 64)), ``repeat-shares-weights`` (one ``block2`` applied three
times shares its weights; the quiz answer key says there is no weight sharing),
``no-get-config``, ``not-registered``.
"""

# Added: the notes' code uses these names without importing them.
from tensorflow.keras import Model
from tensorflow.keras.layers import Conv2D, Dense, Layer


class CNNResidual(Layer):
    def __init__(self, layers, filters, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [Conv2D(filters, (3, 3), activation="relu") for _ in range(layers)]

    def call(self, inputs):
        x = inputs
        for layer in self.hidden:
            x = layer(x)
        return inputs + x


class DNNResidual(Layer):
    def __init__(self, layers, neurons, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [Dense(neurons, activation="relu") for _ in range(layers)]

    def call(self, inputs):
        x = inputs
        for layer in self.hidden:
            x = layer(x)
        return inputs + x


class MyResidual(Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden1 = Dense(30, activation="relu")
        self.block1 = CNNResidual(2, 32)
        self.block2 = DNNResidual(2, 64)
        self.out = Dense(1)

    def call(self, inputs):
        x = self.hidden1(inputs)
        x = self.block1(x)
        for _ in range(3):  # Repeat block2 three times
            x = self.block2(x)
        return self.out(x)
