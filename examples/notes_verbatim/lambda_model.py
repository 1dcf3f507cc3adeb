"""The notes' Lambda-layer classifiers: ``Lambda(lambda x: tf.abs(x))`` and ``my_relu``.

Seed ``003_726034012fa7b10e.txt``, Study Notes 6 (Using Lambda Layers for Quick Custom
Computations), and Question 9 (``my_relu`` with a 0.5 threshold). Verbatim, wrapped in
functions so importing the module builds nothing.

Errata: ``lambda-python-lambda`` (a Lambda wrapping a Python function is saved as
bytecode; ``load_model`` refuses it in safe mode), ``keras-backend-maximum``
(``tf.keras.backend.maximum`` is gone on Keras 3), ``input-shape-kwarg``.
"""

import tensorflow as tf


def build_lambda_abs_model():
    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128),
        tf.keras.layers.Lambda(lambda x: tf.abs(x)),
        tf.keras.layers.Dense(10, activation='softmax')
    ])
    return model


def my_relu(x):
    return tf.keras.backend.maximum(0.0, x)


def my_relu_question_9(x):
    # Question 9's variant (named ``my_relu`` in the notes), clamping at 0.5.
    return tf.keras.backend.maximum(0.5, x)


def build_my_relu_model():
    model = tf.keras.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128),
        tf.keras.layers.Lambda(my_relu),
        tf.keras.layers.Dense(10, activation='softmax')
    ])
    return model
