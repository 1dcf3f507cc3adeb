"""Deliberately broken variants of the references, one bug each.

Each stands in for a reference (same constructor, same registry entry for kwargs and
shapes) through a :class:`~property_tests.support.Factory`, so that a property can be
shown to catch the bug it is meant to catch. The classes that must reload from a
``.keras`` file are registered under their own package.
"""

import tensorflow as tf

from keras_compat import keras, register_serializable
from property_tests.support import Factory
from reference_models import styles
from reference_models.layers.batch_norm_dropout import BatchNormDropoutBlock
from reference_models.layers.custom_dense import CustomDense
from reference_models.layers.dropout import InvertedDropout
from reference_models.layers.identity_block import IdentityBlock
from reference_models.layers.lambda_layers import Abs, MyReLU, absolute, my_relu
from reference_models.layers.my_custom_layer import MyCustomLayer
from reference_models.layers.residual import CNNResidual, DNNResidual
from reference_models.layers.simple_dense import SimpleDense
from reference_models.models.shared_dense import SharedDenseModel
from reference_models.registry import FUNCTIONAL

PACKAGE = "property_tests_broken"


# -- residual blocks ------------------------------------------------------------------------


class NoSkipDNNResidual(DNNResidual):
    """Returns F(x): the skip connection is missing."""

    def call(self, inputs):
        return self.residual_branch(inputs)


class NoSkipCNNResidual(CNNResidual):
    """Returns F(x): the skip connection is missing."""

    def call(self, inputs):
        return self.residual_branch(inputs)


class ReluBeforeSkipIdentityBlock(IdentityBlock):
    """relu(F(x)) + x: the final ReLU moved before the skip connection."""

    def call(self, inputs, training=None):
        branch = self.residual_branch(inputs, training=training)
        return self.add([self.act(branch), inputs])


# -- dense layers -----------------------------------------------------------------------------


class TwiceActivatedSimpleDense(SimpleDense):
    """Applies its activation a second time to the already activated output."""

    def call(self, inputs):
        return self.activation(super().call(inputs))


class BiasForgettingCustomDense(CustomDense):
    """Creates a bias but never adds it: relu(x @ w)."""

    def call(self, inputs):
        return tf.nn.relu(tf.matmul(inputs, self.w))


class ActivatedMyCustomLayer(MyCustomLayer):
    """Applies a ReLU that the layer does not have."""

    def call(self, inputs):
        return tf.nn.relu(super().call(inputs))


# -- Lambda layers --------------------------------------------------------------------------------


class ThresholdIgnoringMyReLU(MyReLU):
    """Always max(0, x): the threshold is stored but not used."""

    def call(self, inputs):
        return my_relu(inputs)


class WeightedAbs(Abs):
    """|x| times a weight fixed at 1: right values, but no longer weightless."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        super().build(input_shape)

    def call(self, inputs):
        return absolute(inputs) * self.scale


# -- build ------------------------------------------------------------------------------------


class RebuildingSimpleDense(SimpleDense):
    """Calls ``build`` again whenever the batch size changes (its weights are created once,
    so only the repeated ``build`` shows)."""

    def build(self, input_shape):
        if getattr(self, "kernel", None) is None:
            super().build(input_shape)
        self._built_for_batch = input_shape[0]

    def call(self, inputs):
        if inputs.shape[0] != self._built_for_batch:
            self.build(inputs.shape)
        return super().call(inputs)


# -- saving -------------------------------------------------------------------------------------


@register_serializable(package=PACKAGE)
class ConfigLosingSimpleDense(SimpleDense):
    """``get_config`` leaves out the activation, so the reloaded layer has none."""

    def get_config(self):
        config = super().get_config()
        config.pop("activation")
        return config


@register_serializable(package=PACKAGE)
class Float16LoadingSimpleDense(SimpleDense):
    """Restores its weights through float16: close to the saved ones, not bit-identical."""

    def load_own_variables(self, store):
        super().load_own_variables(store)
        for variable in self.weights:
            variable.assign(tf.cast(tf.cast(variable, tf.float16), tf.float32))


# -- dropout and batch normalisation ------------------------------------------------------------


class UnscaledDropout(InvertedDropout):
    """Zeroes elements in training but does not scale the kept ones by 1 / (1 - rate)."""

    def call(self, inputs, training=None):
        if training and self.rate > 0.0:
            keep = tf.random.uniform(tf.shape(inputs)) >= self.rate
            return inputs * tf.cast(keep, inputs.dtype)
        return inputs


class InferenceDropout(InvertedDropout):
    """Drops elements in inference too."""

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


class HalfRateDropout(InvertedDropout):
    """Drops with probability rate / 2 while scaling the kept elements for ``rate``."""

    def call(self, inputs, training=None):
        if training and self.rate > 0.0:
            keep = tf.random.uniform(tf.shape(inputs)) >= self.rate / 2.0
            return tf.where(keep, inputs / (1.0 - self.rate), tf.zeros_like(inputs))
        return inputs


class BatchStatsInInferenceBlock(BatchNormDropoutBlock):
    """Normalises with the batch statistics in inference too."""

    def call(self, inputs, training=False):
        return self.dropout(self.batch_norm(inputs, training=True), training=training)


class MovingStatsInTrainingBlock(BatchNormDropoutBlock):
    """Normalises with the moving statistics in training too (``training`` not forwarded
    to the batch normalisation, with inference hard-coded)."""

    def call(self, inputs, training=False):
        return self.dropout(self.batch_norm(inputs, training=False), training=training)


class BatchCenteredSimpleDense(SimpleDense):
    """Centres its inputs on the batch mean: a sample's output depends on its batch."""

    def call(self, inputs):
        return super().call(inputs - tf.reduce_mean(inputs, axis=0, keepdims=True))


# -- API styles ---------------------------------------------------------------------------------


def _dense_without_activation(units, activation):
    return [keras.layers.Dense(units)]


def _dnn_residual_without_skip(shapes, layers, neurons):
    hidden = [DNNResidual._make_hidden(neurons) for _ in range(layers)]
    return styles.functional(shapes, lambda x: styles.chain(x, hidden))


# -- shared layers ------------------------------------------------------------------------------


class UnsharedDenseModel(SharedDenseModel):
    """Gives the second input its own Dense layer: two sets of weights."""

    def __init__(self, units=64, **kwargs):
        super().__init__(units=units, **kwargs)
        self.second = keras.layers.Dense(units, activation="relu")

    def call(self, inputs):
        input1, input2 = inputs
        return self.shared(input1), self.second(input2)


# -- the factories, by the property that must catch them ------------------------------------------

RESIDUAL = [
    Factory("dnn_residual", NoSkipDNNResidual),
    Factory("cnn_residual", NoSkipCNNResidual),
    Factory("identity_block", ReluBeforeSkipIdentityBlock),
]
DENSE = [
    Factory("simple_dense", TwiceActivatedSimpleDense),
    Factory("custom_dense", BiasForgettingCustomDense),
    Factory("my_custom_layer", ActivatedMyCustomLayer),
]
LAMBDA = [Factory("lambda_my_relu", ThresholdIgnoringMyReLU), Factory("lambda_abs", WeightedAbs)]
BUILD = [Factory("simple_dense", RebuildingSimpleDense)]
ROUND_TRIP = [
    Factory("simple_dense", ConfigLosingSimpleDense),
    Factory("simple_dense", Float16LoadingSimpleDense),
]
DROPOUT = [
    Factory("dropout", UnscaledDropout),
    Factory("dropout", InferenceDropout),
    Factory("dropout", HalfRateDropout),
]
BATCH_NORM = [
    Factory("batch_norm_dropout_block", BatchStatsInInferenceBlock),
    Factory("batch_norm_dropout_block", MovingStatsInTrainingBlock),
]
BATCH_INDEPENDENCE = [
    Factory("simple_dense", BatchCenteredSimpleDense),
    Factory("batch_norm_dropout_block", BatchStatsInInferenceBlock),
]
#: The first is right at the default activation (None) and wrong for any other: the reason
#: the styles are compared for drawn hyperparameters.
STYLES = [
    Factory("simple_dense", builders=styles.stack_builders(_dense_without_activation)),
    Factory("dnn_residual", builders={FUNCTIONAL: _dnn_residual_without_skip}),
]
SHARED = [Factory("shared_dense_two_output", UnsharedDenseModel)]
