"""The course notes' Lambda classifier (003, Study Notes 6), as a class the checker can take.

The layers are the notes' own, Python ``lambda`` included; only the class around them is
new (registered, so that what fails is the notes' code). A Python lambda inside a
Lambda layer cannot be reloaded in safe mode.
"""

import tensorflow as tf

from keras_compat import keras


@keras.saving.register_keras_serializable(package="user_layers")
class NotesLambdaClassifier(keras.Sequential):
    def __init__(self, **kwargs):
        kwargs.pop("layers", None)  # a reloaded config carries them; the notes fix them here
        super().__init__(
            [
                keras.layers.Flatten(),
                keras.layers.Dense(128),
                keras.layers.Lambda(lambda x: tf.abs(x)),
                keras.layers.Dense(10, activation="softmax"),
            ],
            **kwargs,
        )
