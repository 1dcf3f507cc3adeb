"""CustomDense, the dense layer with a built-in ReLU, as in the notes.

Seed ``001_0854074d2154e8f5.txt``, "Example: Custom Dense Layer With ReLU" and "Using the
Custom Layer in a Model".

The notes' first two lines, ``From tensorflow.keras.layers`` / ``import Layer``, are a
``SyntaxError`` (capital ``From``, and the statement is split over two lines). They are
fixed below, and ``import tensorflow as tf``, which the notes' code uses but does not
import, is added. ``NOTES_IMPORT_LINES`` keeps the broken lines as text. The stray
``tf.add`` demo that ends the notes' snippet is moved into ``tf_add_demo()``.

Errata: ``custom-dense-syntax``, ``no-kwargs``, ``no-get-config``, ``not-registered``.
"""

# Fixed: the notes write "From tensorflow.keras.layers\nimport Layer" (a SyntaxError).
from tensorflow.keras.layers import Layer  # noqa: F401
import tensorflow as tf  # added: the notes use ``tf`` without importing it

#: The notes' import statement, verbatim (it does not compile).
NOTES_IMPORT_LINES = "From tensorflow.keras.layers\nimport Layer\n"


class CustomDense(tf.keras.layers.Layer):
    def __init__(self, units):
        super(CustomDense, self).__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="random_normal",
            trainable=True
        )
        self.b = self.add_weight(
            shape=(self.units,),
            initializer="zeros",
            trainable=True
        )

    def call(self, inputs):
        x = tf.matmul(inputs, self.w) + self.b
        return tf.nn.relu(x)


def tf_add_demo():
    # The last three lines of the notes' snippet, unrelated to CustomDense.
    a = tf.constant([1,2,3])
    b = tf.constant([4,5,6])
    print(tf.add(a,b))


def build_custom_dense_model():
    """"Using the Custom Layer in a Model": no input shape, so it is built on first call."""
    model = tf.keras.Sequential([
        CustomDense(32),
        CustomDense(10)
    ])
    return model
