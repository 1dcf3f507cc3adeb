"""Layers that break the distribution contracts: each trains or predicts differently under
``tf.distribute.MirroredStrategy`` than on one device."""

import numpy as np
import tensorflow as tf

import keras_compat as compat
from keras_compat import keras, register_serializable

_VECTOR = ["8,7"]
#: The batch size one of the layers below wrongly takes to be the global batch.
GLOBAL_BATCH_SIZE = 8


class _Dense(keras.layers.Layer):
    """A correct dense layer the broken ones below start from: x @ kernel + bias."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel) + self.bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package="broken_layers")
class PeakTrackedInCall(keras.layers.Layer):
    """Breaks check_distributed_variables: creates the variable tracking the largest input
    seen lazily, in the first training call; under fit that call runs in each replica's
    context, and each replica makes (and keeps) its own copy."""

    def call(self, inputs, training=None):
        if training and not hasattr(self, "peak"):
            self.peak = tf.Variable(tf.zeros(inputs.shape[-1:]), trainable=False, name="peak")
        if training:
            self.peak.assign(tf.maximum(self.peak, tf.reduce_max(tf.abs(inputs), axis=0)))
        return inputs * 2.0

    def compute_output_shape(self, input_shape):
        return input_shape


#: A temperature shared by every instance, created when the module is imported.
_SHARED_TEMPERATURE = tf.Variable(2.0, trainable=False, name="shared_temperature")


@register_serializable(package="broken_layers")
class TemperatureCreatedAtImport(_Dense):
    """Breaks check_distributed_variables: divides by a module-level variable created at
    import time, outside any strategy's scope, so it lives on one device only."""

    def __init__(self, units=4, **kwargs):
        super().__init__(units, **kwargs)
        self.temperature = _SHARED_TEMPERATURE

    def call(self, inputs):
        return super().call(inputs) / self.temperature


@register_serializable(package="broken_layers")
class PenaltyOverGlobalBatch(_Dense):
    """Breaks check_distributed_fit_matches_one_device: adds an activity penalty summed over
    the batch and divided by a hard-coded global batch size, as a custom training loop
    would; fit already scales each replica's loss, so each replica's share comes out
    divided by the replica count once more."""

    def call(self, inputs):
        outputs = super().call(inputs)
        self.add_loss(tf.reduce_sum(tf.square(outputs)) / GLOBAL_BATCH_SIZE)
        return outputs


@register_serializable(package="broken_layers")
class CentredByConstantBatchSize(_Dense):
    """Breaks check_distributed_fit_matches_one_device: in training, centres its outputs on
    the batch mean computed as a sum divided by a constant global batch size, which is the
    mean only when one device sees the whole batch."""

    def call(self, inputs, training=None):
        outputs = super().call(inputs)
        if training:
            outputs = outputs - tf.reduce_sum(outputs, axis=0) / GLOBAL_BATCH_SIZE
        return outputs


@register_serializable(package="broken_layers")
class SamplesSeenPerReplica(_Dense):
    """Breaks check_distributed_fit_matches_one_device: counts the samples it trained on in
    a non-trainable variable aggregated by mean, so the replicas' counts are averaged
    instead of added."""

    def build(self, input_shape):
        super().build(input_shape)
        self.samples_seen = self.add_weight(name="samples_seen", shape=(), initializer="zeros",
                                            trainable=False, **compat.distributed_weight_kwargs("mean"))

    def call(self, inputs, training=None):
        if training:
            self.samples_seen.assign_add(tf.cast(tf.shape(inputs)[0], self.samples_seen.dtype))
        return super().call(inputs)


@register_serializable(package="broken_layers")
class NoiseDrawnWhileTracing(_Dense):
    """Breaks check_distributed_fit_matches_one_device: meant to add fresh noise in every
    training step, it draws the noise with NumPy, once per trace; each replica traces the
    step on its own and bakes in other noise."""

    def call(self, inputs, training=None):
        outputs = super().call(inputs)
        if training:
            outputs = outputs + np.random.normal(0.0, 0.5, size=(self.units,)).astype("float32")
        return outputs


@register_serializable(package="broken_layers")
class NormalisedByBatchInInference(_Dense):
    """Breaks check_distributed_predict_matches_one_device: scales its outputs by the batch's
    largest output even in inference, so each replica's outputs depend on the shard it got."""

    def call(self, inputs):
        outputs = super().call(inputs)
        return outputs / (tf.reduce_max(tf.abs(outputs)) + 1.0)


@register_serializable(package="broken_layers")
class ScaledByReplicaCount(_Dense):
    """Breaks check_distributed_save_load (and predict): divides its outputs by the number of
    replicas of the strategy it was built under, to turn a sum over replicas into a mean;
    loaded outside the strategy, it divides by one."""

    def build(self, input_shape):
        super().build(input_shape)
        self.replicas = tf.distribute.get_strategy().num_replicas_in_sync

    def call(self, inputs):
        return super().call(inputs) / self.replicas


# -- their correct counterparts, which the family passes -----------------------------------


@register_serializable(package="broken_layers")
class SamplesAndStepsCounted(_Dense):
    """Correct: counts the samples it trained on with aggregation "sum" (each replica adds
    its shard) and the steps with "only_first_replica" (one step, whatever the replicas)."""

    def build(self, input_shape):
        super().build(input_shape)
        self.samples_seen = self.add_weight(name="samples_seen", shape=(), initializer="zeros",
                                            trainable=False, **compat.distributed_weight_kwargs("sum"))
        self.steps = self.add_weight(name="steps", shape=(), initializer="zeros", trainable=False,
                                     **compat.distributed_weight_kwargs("only_first_replica"))

    def call(self, inputs, training=None):
        if training and self.trainable:
            self.samples_seen.assign_add(tf.cast(tf.shape(inputs)[0], self.samples_seen.dtype))
            self.steps.assign_add(1.0)
        return super().call(inputs)


@register_serializable(package="broken_layers")
class BatchCentring(_Dense):
    """Correct once it declares per_replica_statistics: centres its outputs on the mean of
    the batch it is given in training (on a fixed offset in inference), so under a strategy
    each replica centres on its own shard's mean, by design."""

    def call(self, inputs, training=None):
        outputs = super().call(inputs)
        if training:
            return outputs - tf.reduce_mean(outputs, axis=0)
        return outputs - 0.5


BROKEN = {
    "check_distributed_variables": [
        (PeakTrackedInCall, {}, _VECTOR),
        (TemperatureCreatedAtImport, {"units": 4}, _VECTOR),
    ],
    "check_distributed_fit_matches_one_device": [
        (PenaltyOverGlobalBatch, {"units": 4}, _VECTOR),
        (CentredByConstantBatchSize, {"units": 4}, _VECTOR),
        (SamplesSeenPerReplica, {"units": 4}, _VECTOR),
        (NoiseDrawnWhileTracing, {"units": 4}, _VECTOR),
    ],
    "check_distributed_predict_matches_one_device": [
        (NormalisedByBatchInInference, {"units": 4}, _VECTOR),
        (ScaledByReplicaCount, {"units": 4}, _VECTOR),
    ],
    "check_distributed_save_load": [(ScaledByReplicaCount, {"units": 4}, _VECTOR)],
}

#: Every case runs in the full tier, in a worker process that imports the class from here.
SPEC_OPTIONS = {
    cls: {"tier": "full", "import_path": f"examples.broken_layers.distribution:{cls.__name__}"}
    for cls in [cls for cases in BROKEN.values() for cls, _, _ in cases] + [SamplesAndStepsCounted, BatchCentring]
}
