"""SimpleDense with raw ``tf.Variable`` weights, as in the notes.

Seed ``003_726034012fa7b10e.txt``, Study Notes 2 (Example: Simple Dense Layer) and
Study Notes 5 (Adding Activation Functions in Custom Layers). The notes name both
classes ``SimpleDense``; the second is renamed ``SimpleDenseWithActivation`` here so both
can live in one module. The bodies are verbatim, except that each ``super()`` call names
its own class.

Errata: ``raw-tf-variable`` (Keras 3 does not track the variables: no weights, ``fit``
does not train them, nothing is saved), ``no-kwargs``, ``no-get-config``,
``not-registered``.
"""

import tensorflow as tf


class SimpleDense(tf.keras.layers.Layer):
    def __init__(self, units=32):
        super(SimpleDense, self).__init__()
        self.units = units

    def build(self, input_shape):
        # Initialize weights and biases
        w_init = tf.random_normal_initializer()
        self.w = tf.Variable(
            initial_value=w_init(shape=(input_shape[-1], self.units), dtype='float32'),
            trainable=True,
            name="kernel"
        )
        b_init = tf.zeros_initializer()
        self.b = tf.Variable(
            initial_value=b_init(shape=(self.units,), dtype='float32'),
            trainable=True,
            name="bias"
        )

    def call(self, inputs):
        # Forward pass: matrix multiply inputs by weights and add bias
        return tf.matmul(inputs, self.w) + self.b


# Renamed from the notes' second ``class SimpleDense`` (Study Notes 5).
class SimpleDenseWithActivation(tf.keras.layers.Layer):
    def __init__(self, units=32, activation=None):
        # The notes write super(SimpleDense, self); renamed with the class.
        super(SimpleDenseWithActivation, self).__init__()
        self.units = units
        self.activation = tf.keras.activations.get(activation)

    def build(self, input_shape):
        w_init = tf.random_normal_initializer()
        self.w = tf.Variable(
            initial_value=w_init(shape=(input_shape[-1], self.units), dtype='float32'),
            trainable=True,
            name="kernel"
        )
        b_init = tf.zeros_initializer()
        self.b = tf.Variable(
            initial_value=b_init(shape=(self.units,), dtype='float32'),
            trainable=True,
            name="bias"
        )

    def call(self, inputs):
        z = tf.matmul(inputs, self.w) + self.b
        return self.activation(z) if self.activation else z


def build_flatten_classifier():
    """Study Notes 3: the 28x28 classifier with ``SimpleDense(128)`` (errata
    ``raw-tf-variable``, ``input-shape-kwarg``)."""
    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        SimpleDense(128),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10, activation='softmax')
    ])
    return model


def build_linear_regression():
    """Study Notes 4 / Key Point 9: one SimpleDense unit compiled for y = 2x - 1.

    The notes show only ``compile`` and ``fit(xs, ys, epochs=500, verbose=0)``; the
    model itself (``SimpleDense(1)`` on a 1-feature input) is the course's. Not fitted.
    """
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), SimpleDense(1)])
    model.compile(optimizer='sgd', loss='mean_squared_error')
    return model
