"""MyCustomLayer, the bias-free projection to 128 features, as in the notes.

Seed ``004_c26640069bb2c47f.txt``, Custom Layers, "Example Code to Create a Custom Layer".
Verbatim; the example model is wrapped in a function.

Errata: ``add-weight-positional-name`` (``self.add_weight("kernel", shape=...)``: on
Keras 3 the first positional parameter of ``add_weight`` is ``shape``),
``input-shape-index`` (``input_shape[1]`` instead of ``input_shape[-1]``), ``no-kwargs``.
"""

import tensorflow as tf

# Define custom layer by subclassing tf.keras.layers.Layer
class MyCustomLayer(tf.keras.layers.Layer):
    def __init__(self):
        super(MyCustomLayer, self).__init__()

    def build(self, input_shape):
        # Create a weight variable for the custom layer
        self.kernel = self.add_weight("kernel", shape=(input_shape[1], 128))

    def call(self, inputs):
        # Apply a custom operation (e.g., matrix multiplication)
        return tf.matmul(inputs, self.kernel)


def build_model():
    # Example usage in a model
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(64, activation='relu'),
        MyCustomLayer(),
        tf.keras.layers.Dense(10, activation='softmax')
    ])

    # Compile and train the model as usual
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model
