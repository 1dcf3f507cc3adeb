"""Layers and models that break the data-pipeline contracts: they work on batches of the
size they were built with and fail on the short final batch of a tf.data pipeline."""

import tensorflow as tf

from keras_compat import keras, register_serializable


@register_serializable(package="broken_layers")
class PerRowBias(keras.layers.Layer):
    """Breaks check_predict_from_dataset: meant to add a learned bias per feature, its
    build() shapes the bias by ``input_shape[0]`` (the batch it is built with) instead of
    ``input_shape[-1]``: it works on full batches of 4 and fails on the last batch of 2."""

    def build(self, input_shape):
        self.bias = self.add_weight(shape=tuple(input_shape), initializer="ones", name="bias")

    def call(self, inputs):
        return inputs + self.bias

    def compute_output_shape(self, input_shape):
        return input_shape


@register_serializable(package="broken_layers")
class LogsLastBatchLosses(keras.Model):
    """Breaks check_fit_from_dataset: its train_step keeps the last batch's per-sample losses
    (for hard-example mining) in a variable of a fixed batch size, so the assignment fails
    on the short final batch of a pipeline."""

    def __init__(self, units=4, batch_size=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.batch_size = batch_size
        self.head = keras.layers.Dense(units)
        self.last_losses = tf.Variable(tf.zeros([batch_size]), trainable=False, name="last_losses")

    def call(self, inputs):
        return self.head(inputs)

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            per_sample = tf.reduce_mean(tf.square(targets - self(inputs, training=True)), axis=-1)
            loss = tf.reduce_mean(per_sample)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.last_losses.assign(per_sample)
        return {"loss": loss}

    def get_config(self):
        return {**super().get_config(), "units": self.units, "batch_size": self.batch_size}


BROKEN = {
    "check_predict_from_dataset": [(PerRowBias, {}, ["4,7"])],
    "check_fit_from_dataset": [(LogsLastBatchLosses, {"units": 4, "batch_size": 4}, ["4,7"])],
}

#: Both checks run in the full tier only (two predict() or fit() runs each).
SPEC_OPTIONS = {PerRowBias: {"tier": "full"}, LogsLastBatchLosses: {"tier": "full"}}
