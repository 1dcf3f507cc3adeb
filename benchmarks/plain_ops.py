"""Reference computations written as plain TensorFlow ops on a model's own weights.

Timing these against the Keras model in the same ``tf.function`` isolates what Keras adds
(layer call machinery, input checks, autocasting) from the arithmetic itself.
"""

import tensorflow as tf


def _dense(x, kernel, bias, relu):
    y = tf.matmul(x, kernel) + bias
    return tf.nn.relu(y) if relu else y


def simple_dense(weights):
    kernel, bias = weights
    return lambda x: _dense(x, kernel, bias, relu=False)


def my_model(weights):
    kernel1, bias1, kernel2, bias2 = weights
    return lambda x: _dense(_dense(x, kernel1, bias1, relu=True), kernel2, bias2, relu=False)


def dnn_residual(weights):
    pairs = list(zip(weights[0::2], weights[1::2]))

    def run(x):
        branch = x
        for kernel, bias in pairs:
            branch = _dense(branch, kernel, bias, relu=True)
        return x + branch

    return run


def cnn_residual(weights):
    pairs = list(zip(weights[0::2], weights[1::2]))

    def run(x):
        branch = x
        for kernel, bias in pairs:
            branch = tf.nn.relu(tf.nn.conv2d(branch, kernel, 1, "SAME") + bias)
        return x + branch

    return run


#: reference name -> factory taking the model's trainable weights in layer order.
PLAIN = {
    "simple_dense": simple_dense,
    "my_model": my_model,
    "dnn_residual": dnn_residual,
    "cnn_residual": cnn_residual,
}
