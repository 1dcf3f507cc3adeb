"""The shared-layer model with two inputs and two outputs, as in the notes.

Seed ``004_c26640069bb2c47f.txt``, "Custom Models with Multiple Inputs and Outputs",
"Example Code for Multiple Inputs/Outputs". Verbatim, wrapped in a function.

Errata: ``shared-layer-loss`` (``categorical_crossentropy`` on ReLU outputs, which are
not probabilities), ``multi-output-metrics`` (``metrics=['accuracy']`` on two outputs).
"""

import tensorflow as tf


def build_shared_layer_model():
    # Define multiple inputs
    input1 = tf.keras.layers.Input(shape=(784,))
    input2 = tf.keras.layers.Input(shape=(784,))

    # Define shared layers
    dense1 = tf.keras.layers.Dense(64, activation='relu')

    # Process both inputs using the shared layers
    output1 = dense1(input1)
    output2 = dense1(input2)

    # Create model with two inputs and two outputs
    model = tf.keras.models.Model(inputs=[input1, input2], outputs=[output1, output2])

    # Compile and train the model as usual
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model
