"""Layers that break the modes contracts (training versus inference)."""

import tensorflow as tf

from keras_compat import keras, register_serializable

_VECTOR = [(4, 7)]


class _Dense(keras.layers.Layer):
    """A plain dense layer the broken classes build on (the part they get right)."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def dense(self, inputs):
        return tf.matmul(inputs, self.kernel) + self.bias

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package="broken_layers")
class AlwaysNoisy(keras.layers.Layer):
    """Breaks check_inference_deterministic: adds Gaussian noise on every call, having
    forgotten the ``if training:`` that GaussianNoise has."""

    def __init__(self, stddev=0.1, **kwargs):
        super().__init__(**kwargs)
        self.stddev = stddev

    def call(self, inputs, training=None):
        return inputs + tf.random.normal(tf.shape(inputs), stddev=self.stddev)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


@register_serializable(package="broken_layers")
class TrainingByDefaultDropout(keras.layers.Layer):
    """Breaks check_default_call_is_inference: ``call(self, inputs, training=True)``, so a
    plain call (predicting by hand, outside fit) drops units."""

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs, training=True):
        if training:
            return tf.nn.dropout(inputs, rate=self.rate)
        return inputs

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@register_serializable(package="broken_layers")
class BatchStatsNormalization(keras.layers.Layer):
    """Breaks check_batch_independent_inference: normalises with the batch's mean and
    variance in inference too (it never keeps moving statistics)."""

    def __init__(self, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.gamma = self.add_weight(name="gamma", shape=(input_shape[-1],), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(input_shape[-1],), initializer="zeros")

    def call(self, inputs, training=None):
        mean, variance = tf.nn.moments(inputs, axes=[0])
        return (inputs - mean) * tf.math.rsqrt(variance + self.epsilon) * self.gamma + self.beta

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@register_serializable(package="broken_layers")
class BatchCentered(_Dense):
    """Breaks check_batch_independent_inference: subtracts ``reduce_mean(inputs, axis=0)``
    to centre its inputs, so a sample alone always becomes zero."""

    def call(self, inputs):
        return self.dense(inputs - tf.reduce_mean(inputs, axis=0, keepdims=True))


@register_serializable(package="broken_layers")
class AlwaysUpdatedRunningMean(keras.layers.Layer):
    """Breaks check_inference_mutates_no_variable: centres with a running mean that it
    updates on every call, inference included."""

    def __init__(self, momentum=0.9, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def build(self, input_shape):
        self.running_mean = self.add_weight(
            name="running_mean", shape=(input_shape[-1],), initializer="zeros", trainable=False
        )

    def call(self, inputs, training=None):
        outputs = inputs - self.running_mean
        batch_mean = tf.reduce_mean(inputs, axis=0)
        self.running_mean.assign(self.momentum * self.running_mean + (1 - self.momentum) * batch_mean)
        return outputs

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


@register_serializable(package="broken_layers")
class CallCountingDense(_Dense):
    """Breaks check_inference_mutates_no_variable: counts its calls in a non-trainable
    weight, incremented on every call."""

    def build(self, input_shape):
        super().build(input_shape)
        self.calls = self.add_weight(name="calls", shape=(), initializer="zeros", trainable=False)

    def call(self, inputs):
        self.calls.assign_add(1.0)
        return self.dense(inputs)


@register_serializable(package="broken_layers")
class HiddenTrainingDropout(_Dense):
    """Breaks check_training_argument_exposed: Dense then a Dropout sublayer, but
    ``call(self, inputs)`` has no ``training``; only Keras's call context reaches the Dropout."""

    def __init__(self, units=4, rate=0.5, **kwargs):
        super().__init__(units=units, **kwargs)
        self.rate = rate
        self.dropout = keras.layers.Dropout(rate)

    def call(self, inputs):
        return self.dropout(self.dense(inputs))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@register_serializable(package="broken_layers")
class HiddenTrainingBatchNorm(_Dense):
    """Breaks check_training_argument_exposed: Dense then BatchNormalization, with
    ``call(self, inputs)`` taking no ``training`` argument."""

    def __init__(self, units=4, **kwargs):
        super().__init__(units=units, **kwargs)
        self.batch_norm = keras.layers.BatchNormalization()

    def call(self, inputs):
        return self.batch_norm(self.dense(inputs))


@register_serializable(package="broken_layers")
class FrozenStatisticsBlock(_Dense):
    """Breaks check_training_updates_nested_state: calls its BatchNormalization with
    ``training=False`` hard-coded, so the moving statistics never learn."""

    def __init__(self, units=4, rate=0.2, **kwargs):
        super().__init__(units=units, **kwargs)
        self.rate = rate
        self.batch_norm = keras.layers.BatchNormalization()
        self.dropout = keras.layers.Dropout(rate)

    def call(self, inputs, training=None):
        x = self.batch_norm(self.dense(inputs), training=False)
        return self.dropout(x, training=training)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class DropPathAlways(keras.layers.Layer):
    """Breaks check_inference_deterministic: drops whole samples (stochastic depth) on every
    call, training or not. On a batch of 2 at rate 0.5 two inference calls agree about a
    quarter of the time, so one pair of calls is not enough to see it."""

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self._calls = 0

    def call(self, inputs, training=None):
        # A new mask on every call, from a stateless op seeded by the call count: what it
        # draws depends on nothing a process ran before (a stateful tf.random op would go on
        # from TensorFlow's cached kernel), so its verdicts can be pinned.
        self._calls += 1
        draw = tf.random.stateless_uniform(tf.shape(inputs)[:1], seed=[self._calls, 7])
        keep = tf.cast(draw >= self.rate, inputs.dtype)
        return inputs * keep[:, None] / (1.0 - self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape


BROKEN = {
    "check_inference_deterministic": [(AlwaysNoisy, {}, _VECTOR), (DropPathAlways, {"rate": 0.5}, [(2, 5)])],
    "check_default_call_is_inference": [(TrainingByDefaultDropout, {}, _VECTOR)],
    "check_batch_independent_inference": [
        (BatchStatsNormalization, {}, _VECTOR),
        (BatchCentered, {}, _VECTOR),
    ],
    "check_inference_mutates_no_variable": [
        (AlwaysUpdatedRunningMean, {}, _VECTOR),
        (CallCountingDense, {}, _VECTOR),
    ],
    "check_training_argument_exposed": [
        (HiddenTrainingDropout, {}, _VECTOR),
        (HiddenTrainingBatchNorm, {}, _VECTOR),
    ],
    "check_training_updates_nested_state": [(FrozenStatisticsBlock, {}, _VECTOR)],
}
