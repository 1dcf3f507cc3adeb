"""Layers that break the construction contracts."""

import dataclasses

import tensorflow as tf

from keras_compat import keras, register_serializable

_VECTOR = [(3, 7)]


@register_serializable(package="broken_layers")
class InitWeightsMadeAgainInBuild(keras.layers.Layer):
    """Breaks check_no_weights_after_init: makes its kernel in __init__ for a known input
    width (as Keras allows), then build() makes it again, leaving the first one as an
    untrained duplicate in layer.weights."""

    def __init__(self, units=4, input_dim=7, **kwargs):
        super().__init__(**kwargs)
        self.units, self.input_dim = units, input_dim
        self.kernel = self.add_weight(name="kernel", shape=(input_dim, units))

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "input_dim": self.input_dim}


class NoKwargs(keras.layers.Layer):
    """Breaks check_accepts_base_kwargs: ``__init__(self, units)`` rejects name, dtype, trainable."""

    def __init__(self, units=4):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel)


class SwallowsKwargs(NoKwargs):
    """Breaks check_accepts_base_kwargs: takes **kwargs but never passes them on."""

    def __init__(self, units=4, **kwargs):
        super().__init__(units)


class RebuildsEveryCall(keras.layers.Layer):
    """Breaks check_build_runs_once: call() runs build() again "to be safe"."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        if not hasattr(self, "kernel"):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))

    def call(self, inputs):
        self.build(inputs.shape)
        return tf.matmul(inputs, self.kernel)


class LazyStepCounter(keras.layers.Layer):
    """Breaks check_no_new_state_after_first_call: creates a step counter on its first training call."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))

    def call(self, inputs, training=None):
        if training and not hasattr(self, "steps"):
            self.steps = self.add_weight(name="steps", shape=(), initializer="zeros", trainable=False)
        return tf.matmul(inputs, self.kernel)


@dataclasses.dataclass
class _Params:
    kernel: object
    bias: object


class VariablesInHelperObject(keras.layers.Layer):
    """Breaks check_variables_tracked: keeps raw tf.Variables in a helper object, where Keras
    (2 or 3) never looks, so they are not trained, saved or counted."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.params = _Params(
            kernel=tf.Variable(tf.random.normal((input_shape[-1], self.units)), name="kernel"),
            bias=tf.Variable(tf.zeros((self.units,)), name="bias"),
        )

    def call(self, inputs):
        return tf.matmul(inputs, self.params.kernel) + self.params.bias


class UnusedSublayer(keras.layers.Layer):
    """Breaks check_sublayers_built: a projection sublayer that call() forgot to use."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(units)
        self.projection = keras.layers.Dense(units)

    def call(self, inputs):
        return self.dense(inputs)


class ExtendsItsThresholds(keras.layers.Layer):
    """Breaks check_constructor_leaves_arguments_unchanged: ``__init__`` adds sentinels to
    the caller's ``thresholds`` list in place, so a second layer made from the same list
    (or the same config) gets ``[-inf, -inf, 0.5, inf, inf]``."""

    def __init__(self, thresholds=(0.5,), **kwargs):
        super().__init__(**kwargs)
        thresholds.insert(0, float("-inf"))
        thresholds.append(float("inf"))
        self.thresholds = list(thresholds)

    def call(self, inputs):
        return tf.cast(inputs > self.thresholds[1], inputs.dtype)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.thresholds[1:-1]}


BROKEN = {
    "check_no_weights_after_init": [(InitWeightsMadeAgainInBuild, {"units": 4}, _VECTOR)],
    "check_accepts_base_kwargs": [(NoKwargs, {"units": 4}, _VECTOR), (SwallowsKwargs, {"units": 4}, _VECTOR)],
    "check_build_runs_once": [(RebuildsEveryCall, {"units": 4}, _VECTOR)],
    "check_no_new_state_after_first_call": [(LazyStepCounter, {"units": 4}, _VECTOR)],
    "check_variables_tracked": [(VariablesInHelperObject, {"units": 4}, _VECTOR)],
    "check_sublayers_built": [(UnusedSublayer, {"units": 4}, _VECTOR)],
    "check_constructor_leaves_arguments_unchanged": [(ExtendsItsThresholds, {"thresholds": [0.5]}, _VECTOR)],
}
