"""Layers that break the reference contracts: each is checked against a reference named in
:data:`SPEC_OPTIONS` (with the constructor kwargs the reference gets): a ``reference_models``
entry, a Keras layer class (``keras.layers:LayerNormalization``) or a NumPy function
(``examples.user_layers.formulas:layer_norm``)."""

import tensorflow as tf

from examples.user_layers.hand_layer_norm import HandLayerNorm, ops
from keras_compat import keras, register_serializable

_VECTOR = [(4, 16)]


class _SimpleDense(keras.layers.Layer):
    """What the reference SimpleDense computes: activation(x @ kernel + bias), kernel drawn
    from N(0, 0.05), zeros bias. The broken layers below each change one thing."""

    kernel_stddev = 0.05
    bias_initializer = "zeros"

    def __init__(self, units=32, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def kernel_initializer(self):
        # a new initializer per weight: Keras 2 repeats an unseeded initializer's values
        return keras.initializers.RandomNormal(mean=0.0, stddev=self.kernel_stddev)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer())
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer)

    def call(self, inputs):
        return self.activation(tf.matmul(inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


@register_serializable(package="broken_layers")
class TransposedKernelDense(_SimpleDense):
    """Breaks check_reference_weight_structure: stores its kernel as (units, input_dim), the
    PyTorch layout, so the reference's weights do not fit."""

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(self.units, input_shape[-1]),
                                      initializer=self.kernel_initializer())
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return self.activation(tf.matmul(inputs, self.kernel, transpose_b=True) + self.bias)


@register_serializable(package="broken_layers")
class BiasFirstDense(_SimpleDense):
    """Breaks check_reference_weight_structure: creates its bias before its kernel, so
    get_weights() lists them in the other order."""

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer())


@register_serializable(package="broken_layers")
class ForgetsActivationDense(_SimpleDense):
    """Breaks check_reference_outputs: accepts ``activation`` but never applies it."""

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel) + self.bias


@register_serializable(package="broken_layers")
class ActivatesTwiceDense(_SimpleDense):
    """Breaks check_reference_outputs: applies its activation twice (once in a helper that
    already did it)."""

    def _affine(self, inputs):
        return self.activation(tf.matmul(inputs, self.kernel) + self.bias)

    def call(self, inputs):
        return self.activation(self._affine(inputs))


@tf.custom_gradient
def _fast_relu(x):
    """ReLU with a hand-written gradient that forgets to zero it where x < 0."""

    def gradient(upstream):
        return upstream

    return tf.maximum(x, 0.0), gradient


@register_serializable(package="broken_layers")
class CustomGradientReluDense(_SimpleDense):
    """Breaks check_reference_gradients: a ReLU dense layer whose hand-written ReLU gradient
    passes the upstream gradient through everywhere; the forward pass is right."""

    def call(self, inputs):
        return _fast_relu(tf.matmul(inputs, self.kernel) + self.bias)


@register_serializable(package="broken_layers")
class OnesBiasDense(_SimpleDense):
    """Breaks check_reference_initialization: initialises its bias to ones, not zeros."""

    bias_initializer = "ones"


@register_serializable(package="broken_layers")
class UnitStddevDense(_SimpleDense):
    """Breaks check_reference_initialization: draws its kernel with stddev 1 instead of 0.05."""

    kernel_stddev = 1.0


class _Dropout(keras.layers.Layer):
    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@register_serializable(package="broken_layers")
class KeepsRateDropout(_Dropout):
    """Breaks check_reference_stochastic_statistics: keeps each unit with probability
    ``rate`` instead of ``1 - rate`` (scaling the kept ones by 1 / (1 - rate))."""

    def call(self, inputs, training=None):
        if not training:
            return inputs
        keep = tf.random.uniform(tf.shape(inputs)) < self.rate
        return tf.where(keep, inputs / (1.0 - self.rate), tf.zeros_like(inputs))


@register_serializable(package="broken_layers")
class UnscaledDropout(_Dropout):
    """Breaks check_reference_stochastic_statistics against keras.layers:Dropout: an inverted
    dropout that zeroes units with probability ``rate`` but does not scale the kept ones by
    1 / (1 - rate)."""

    def call(self, inputs, training=None):
        if not training:
            return inputs
        keep = tf.random.uniform(tf.shape(inputs)) >= self.rate
        return tf.where(keep, inputs, tf.zeros_like(inputs))


@register_serializable(package="broken_layers")
class ExtraBiasDense(_SimpleDense):
    """Breaks check_reference_parameter_counts: adds a second, redundant output bias."""

    def build(self, input_shape):
        super().build(input_shape)
        self.output_bias = self.add_weight(name="output_bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return super().call(inputs) + self.output_bias


@register_serializable(package="broken_layers")
class LayerNormDropoutBlock(keras.layers.Layer):
    """Breaks check_reference_parameter_counts: the reference's batch normalisation replaced by
    layer normalisation, which has no non-trainable moving statistics."""

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.norm = keras.layers.LayerNormalization()
        self.dropout = keras.layers.Dropout(rate)

    def call(self, inputs, training=False):
        return self.dropout(self.norm(inputs), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class _HandWrittenBatchNorm(keras.layers.Layer):
    """Batch normalisation written out, with Keras's defaults (momentum 0.99, epsilon 1e-3)
    but moving statistics created as trainable weights (``trainable=False`` forgotten)."""

    def build(self, input_shape):
        shape = (input_shape[-1],)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer="zeros")
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape, initializer="ones")

    def call(self, inputs, training=False):
        if training:
            mean, variance = tf.nn.moments(inputs, axes=[0])
            self.moving_mean.assign(0.99 * self.moving_mean + 0.01 * mean)
            self.moving_variance.assign(0.99 * self.moving_variance + 0.01 * variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return tf.nn.batch_normalization(inputs, mean, variance, self.beta, self.gamma, 1e-3)


@register_serializable(package="broken_layers")
class TrainableMovingStatsBlock(keras.layers.Layer):
    """Breaks check_reference_parameter_counts: its hand-written batch normalisation makes the
    moving mean and variance trainable, so they count (and train) as trainable parameters."""

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.batch_norm = _HandWrittenBatchNorm()
        self.dropout = keras.layers.Dropout(rate)

    def call(self, inputs, training=False):
        return self.dropout(self.batch_norm(inputs, training=training), training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@register_serializable(package="broken_layers")
class PlusMeanLayerNorm(HandLayerNorm):
    """Breaks check_reference_outputs against keras.layers:LayerNormalization: adds the mean
    where it should subtract it, (x + mean) / sqrt(variance + epsilon)."""

    def _normalized(self, x):
        mean = ops.mean(x, axis=-1, keepdims=True)
        variance = ops.var(x, axis=-1, keepdims=True)
        return (x + mean) / ops.sqrt(variance + self.epsilon)


@register_serializable(package="broken_layers")
class MinusBetaLayerNorm(HandLayerNorm):
    """Breaks check_reference_outputs against the NumPy formula
    examples.user_layers.formulas:layer_norm: one character, ``- beta`` for ``+ beta``, which
    every other check misses (beta starts at zero, and the layer is a consistent function)."""

    def _scaled(self, normalized, dtype):
        return normalized * ops.cast(self.gamma, dtype) - ops.cast(self.beta, dtype)


@register_serializable(package="broken_layers")
class FrozenMovingMeanBatchNorm(keras.layers.Layer):
    """Breaks check_reference_outputs against keras.layers:BatchNormalization: a hand-written
    batch normalisation whose training call updates the moving variance but never the moving
    mean, so its inference outputs after training drift from Keras's."""

    def __init__(self, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, input_shape):
        shape = (input_shape[-1],)
        self.gamma = self.add_weight(name="gamma", shape=shape, initializer="ones")
        self.beta = self.add_weight(name="beta", shape=shape, initializer="zeros")
        self.moving_mean = self.add_weight(name="moving_mean", shape=shape, initializer="zeros",
                                           trainable=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=shape,
                                               initializer="ones", trainable=False)

    def call(self, inputs, training=False):
        if training and self.trainable:  # frozen, it normalises as in inference, like Keras's
            mean, variance = tf.nn.moments(inputs, axes=[0])
            self.moving_variance.assign(self.momentum * self.moving_variance
                                        + (1.0 - self.momentum) * variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        return tf.nn.batch_normalization(inputs, mean, variance, self.beta, self.gamma, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}


_DENSE_RELU = {"units": 8, "activation": "relu"}
_DENSE_SIGMOID = {"units": 8, "activation": "sigmoid"}

BROKEN = {
    "check_reference_weight_structure": [
        (TransposedKernelDense, {"units": 8}, _VECTOR),
        (BiasFirstDense, {"units": 8}, _VECTOR),
    ],
    "check_reference_outputs": [
        (ForgetsActivationDense, _DENSE_RELU, _VECTOR),
        (ActivatesTwiceDense, _DENSE_SIGMOID, _VECTOR),
        (PlusMeanLayerNorm, {}, [(3, 6)]),
        (MinusBetaLayerNorm, {}, [(3, 6)]),
        (FrozenMovingMeanBatchNorm, {}, [(8, 16)]),
    ],
    "check_reference_gradients": [(CustomGradientReluDense, {"units": 8}, _VECTOR)],
    "check_reference_initialization": [
        (OnesBiasDense, {"units": 8}, _VECTOR),
        (UnitStddevDense, {"units": 8}, _VECTOR),
    ],
    "check_reference_stochastic_statistics": [
        (KeepsRateDropout, {"rate": 0.3}, [(8, 32)]),
        (UnscaledDropout, {"rate": 0.3}, [(8, 32)]),
    ],
    "check_reference_parameter_counts": [
        (ExtraBiasDense, {"units": 8}, _VECTOR),
        (LayerNormDropoutBlock, {"rate": 0.5}, [(8, 16)]),
        (TrainableMovingStatsBlock, {"rate": 0.5}, [(8, 16)]),
    ],
}

#: The CheckSpec fields each broken class needs: the reference it is compared against and,
#: where the reference takes other arguments, the kwargs it is built with.
SPEC_OPTIONS = {
    TransposedKernelDense: {"reference": "simple_dense"},
    BiasFirstDense: {"reference": "simple_dense"},
    ForgetsActivationDense: {"reference": "simple_dense"},
    ActivatesTwiceDense: {"reference": "simple_dense"},
    CustomGradientReluDense: {"reference": "simple_dense", "reference_kwargs": _DENSE_RELU},
    OnesBiasDense: {"reference": "simple_dense"},
    UnitStddevDense: {"reference": "simple_dense"},
    KeepsRateDropout: {"reference": "dropout"},
    UnscaledDropout: {"reference": "keras.layers:Dropout"},
    PlusMeanLayerNorm: {"reference": "keras.layers:LayerNormalization"},
    MinusBetaLayerNorm: {"reference": "examples.user_layers.formulas:layer_norm"},
    FrozenMovingMeanBatchNorm: {"reference": "keras.layers:BatchNormalization"},
    ExtraBiasDense: {"reference": "simple_dense"},
    LayerNormDropoutBlock: {"reference": "batch_norm_dropout_block"},
    TrainableMovingStatsBlock: {"reference": "batch_norm_dropout_block"},
}
