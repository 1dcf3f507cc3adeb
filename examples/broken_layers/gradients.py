"""Broken layers for the gradients checks: weights that backpropagation or fit never reach,
and a hand-written gradient that is wrong."""

import numpy as np
import tensorflow as tf

from keras_compat import keras


class _Dense(keras.layers.Layer):
    """kernel and bias of a plain dense layer; subclasses write call()."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(int(input_shape[-1]), self.units),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


class UnusedBiasDense(_Dense):
    """Breaks check_gradients_nonzero: creates a bias in build() but forgets to add it in call()."""

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel)


class NumpyCopyDense(_Dense):
    """Breaks check_gradients_nonzero: passes its kernel through a NumPy function (to log
    it), so the output follows the kernel but no gradient reaches it."""

    def call(self, inputs):
        kernel = tf.numpy_function(np.array, [self.kernel], self.kernel.dtype)
        return tf.matmul(inputs, tf.ensure_shape(kernel, self.kernel.shape)) + self.bias


class StopGradientDense(_Dense):
    """Breaks check_gradients_nonzero: wraps the matmul in tf.stop_gradient (meant to stop it
    flowing into the inputs), so the kernel gets no gradient."""

    def call(self, inputs):
        return tf.stop_gradient(tf.matmul(inputs, self.kernel)) + self.bias


@tf.custom_gradient
def _fast_relu(x):
    """ReLU with a hand-written gradient; the gradient is twice what it should be."""

    def grad(upstream):
        return 2.0 * upstream * tf.cast(x > 0, upstream.dtype)  # bug: the factor 2

    return tf.nn.relu(x), grad


class CustomGradientReLUDense(_Dense):
    """Breaks check_gradients_match_finite_differences: its ReLU has a tf.custom_gradient that
    returns 2 * upstream instead of upstream where the input is positive."""

    def call(self, inputs):
        return _fast_relu(tf.matmul(inputs, self.kernel) + self.bias)


class Float32CustomGradientReLUDense(_Dense):
    """Breaks check_gradients_match_finite_differences at float32 precision: the wrong
    hand-written ReLU gradient of CustomGradientReLUDense inside a float32 kernel, so the
    check must find the wrong gradient even where float64 differences are out of reach."""

    def call(self, inputs):
        product = tf.matmul(tf.cast(inputs, tf.float32), tf.cast(self.kernel, tf.float32))
        return tf.cast(_fast_relu(product), self.compute_dtype) + self.bias


class WeightNoiseDense(_Dense):
    """Breaks check_fit_updates_trainable_weights: in training it adds noise to the kernel
    inside tf.stop_gradient (meant for the noise only), so fit never changes the kernel."""

    def call(self, inputs, training=None):
        kernel = self.kernel
        if training:
            kernel = tf.stop_gradient(kernel + tf.random.normal(tf.shape(kernel), stddev=0.01))
        return tf.matmul(inputs, kernel) + self.bias


class ConstantCopyDense(_Dense):
    """Breaks check_fit_updates_trainable_weights: registers the kernel as a trainable weight
    but calls with a constant NumPy copy taken in build(), so training never changes it."""

    def build(self, input_shape):
        super().build(input_shape)
        self._kernel_value = tf.constant(np.array(self.kernel))

    def call(self, inputs):
        return tf.matmul(inputs, tf.cast(self._kernel_value, inputs.dtype)) + self.bias


class RunningMeanCentering(keras.layers.Layer):
    """Breaks check_trainable_false_freezes: updates its running mean with assign() in
    training whatever self.trainable says, so a frozen layer still changes in fit."""

    def __init__(self, momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.scale = self.add_weight(name="scale", shape=(dim,), initializer="ones")
        self.running_mean = self.add_weight(name="running_mean", shape=(dim,),
                                            initializer="zeros", trainable=False)
        super().build(input_shape)

    def call(self, inputs, training=None):
        mean = self.running_mean
        if training:  # bug: should be `training and self.trainable`
            mean = tf.reduce_mean(inputs, axis=0)
            self.running_mean.assign(self.momentum * self.running_mean + (1 - self.momentum) * mean)
        return (inputs - mean) * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum)
        return config


class HeadFirstModel(keras.Model):
    """Breaks check_trainable_false_freezes: overrides trainable_weights (to list the head's
    weights first) and ignores self.trainable, so fit trains a frozen model."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.body = keras.layers.Dense(8, activation="tanh")
        self.head = keras.layers.Dense(units)

    def call(self, inputs):
        return self.head(self.body(inputs))

    @property
    def trainable_weights(self):
        return list(self.head.weights) + list(self.body.weights)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


_VECTOR = [(4, 6)]

BROKEN = {
    "check_gradients_nonzero": [
        (UnusedBiasDense, {"units": 3}, _VECTOR),
        (StopGradientDense, {"units": 3}, _VECTOR),
        (NumpyCopyDense, {"units": 3}, _VECTOR),
    ],
    "check_gradients_match_finite_differences": [
        (CustomGradientReLUDense, {"units": 5}, _VECTOR),
        (Float32CustomGradientReLUDense, {"units": 5}, _VECTOR),
    ],
    "check_fit_updates_trainable_weights": [
        (WeightNoiseDense, {"units": 3}, _VECTOR),
        (ConstantCopyDense, {"units": 3}, _VECTOR),
    ],
    "check_trainable_false_freezes": [
        (RunningMeanCentering, {}, _VECTOR),
        (HeadFirstModel, {"units": 3}, _VECTOR),
    ],
}
