"""A module that changes process-wide settings when it is imported: floatx, the dtype
policy, the image data format, epsilon, unsafe deserialization, TensorFlow's eager switch
and an environment variable. The targets checked after it must not notice."""

import os

import tensorflow as tf

import keras_compat as compat
from keras_compat import keras

keras.backend.set_floatx("float16")
compat.set_global_policy("mixed_float16")
keras.backend.set_image_data_format("channels_first")
keras.backend.set_epsilon(0.5)
compat.enable_unsafe_deserialization()
tf.config.run_functions_eagerly(True)
os.environ["KERAS_CONFORMANCE_DISTRIBUTION_DEVICES"] = "gpu"


class Plain(keras.layers.Layer):
    """A correct layer (the module is the hostile part)."""

    def call(self, inputs):
        return inputs * 2.0
