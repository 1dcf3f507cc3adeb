"""Layers that break the serialization contracts."""

import numpy as np
import tensorflow as tf

from keras_compat import keras, register_serializable

_VECTOR = [(4, 7)]


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


class _Vocabulary:
    """A plain helper object: no get_config(), so no serializer can write it."""

    def __init__(self, tokens):
        self.tokens = list(tokens)


@register_serializable(package="broken_layers")
class HelperObjectInConfig(_Dense):
    """Breaks check_get_config_json: get_config() returns its helper object itself, which
    neither json nor Keras's serializer can write."""

    def __init__(self, units=4, vocabulary=("a", "b"), **kwargs):
        super().__init__(units, **kwargs)
        self.vocabulary = vocabulary if isinstance(vocabulary, _Vocabulary) else _Vocabulary(vocabulary)

    def get_config(self):
        return {**super().get_config(), "vocabulary": self.vocabulary}


@register_serializable(package="broken_layers")
class SetInConfig(_Dense):
    """Breaks check_get_config_json: keeps the output ids it masks as a Python set and puts
    that set in the config (JSON has no sets; Keras's serializer writes none)."""

    def __init__(self, units=4, masked_units=(0,), **kwargs):
        super().__init__(units, **kwargs)
        self.masked_units = set(masked_units)

    def call(self, inputs):
        keep = [0.0 if unit in self.masked_units else 1.0 for unit in range(self.units)]
        outputs = super().call(inputs)
        return outputs * tf.constant(keep, outputs.dtype)

    def get_config(self):
        return {**super().get_config(), "masked_units": self.masked_units}


@register_serializable(package="broken_layers")
class ActivationLeftOutOfConfig(_Dense):
    """Breaks check_config_keeps_kwargs: takes ``activation`` but get_config() leaves it
    out, so from_config silently rebuilds the layer without one."""

    def __init__(self, units=4, activation=None, **kwargs):
        super().__init__(units, **kwargs)
        self.activation = keras.activations.get(activation)

    def call(self, inputs):
        return self.activation(super().call(inputs))


@register_serializable(package="broken_layers")
class UnitsSavedUnderOtherKey(_Dense):
    """Breaks check_config_keeps_kwargs: saves ``units`` as ``output_dim``, a name
    ``__init__`` does not take."""

    def get_config(self):
        config = keras.layers.Layer.get_config(self)
        config["output_dim"] = self.units
        return config


@register_serializable(package="broken_layers")
class UseBiasLeftOutOfConfig(_Dense):
    """Breaks check_config_keeps_non_default_kwargs: takes ``use_bias`` but get_config() leaves
    it out. Checked with use_bias at its default, every other check passes it (the default is
    what from_config restores); a layer made with use_bias=False comes back with a bias."""

    def __init__(self, units=4, use_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.use_bias = use_bias

    def call(self, inputs):
        outputs = tf.matmul(inputs, self.kernel)
        return outputs + self.bias if self.use_bias else outputs


@register_serializable(package="broken_layers")
class EpsilonSavedAsDefault(keras.layers.Layer):
    """Breaks check_config_keeps_non_default_kwargs: an RMS normalisation whose get_config()
    writes the default epsilon, not its own, so a rebuilt layer normalises differently."""

    def __init__(self, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def call(self, inputs):
        return inputs * tf.math.rsqrt(tf.reduce_mean(tf.square(inputs), axis=-1, keepdims=True)
                                      + self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": 1e-3}


@register_serializable(package="broken_layers")
class StoresDerivedValue(keras.layers.Layer):
    """Breaks check_from_config_same_outputs: stores 1 / temperature under ``temperature``,
    so a rebuilt layer divides by the inverse."""

    def __init__(self, temperature=1.0, **kwargs):
        super().__init__(**kwargs)
        self.inverse_temperature = 1.0 / temperature

    def call(self, inputs):
        return tf.nn.softmax(inputs * self.inverse_temperature)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "temperature": self.inverse_temperature}


@register_serializable(package="broken_layers")
class RequiredArgumentNotInConfig(_Dense):
    """Breaks check_keras_save_load: ``units`` is required, but get_config() only returns
    the base config, so loading cannot call ``__init__``."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)

    def get_config(self):
        return keras.layers.Layer.get_config(self)


class NotRegistered(_Dense):
    """Breaks check_keras_save_load and check_fresh_process_load: never registered with
    register_keras_serializable, so safe-mode loading cannot find the class."""


_PROJECTIONS = {}


def _cached_projection(rows, columns):
    """A random projection drawn once per process (and then reused)."""
    if (rows, columns) not in _PROJECTIONS:
        rng = np.random.default_rng()
        _PROJECTIONS[rows, columns] = (rng.standard_normal((rows, columns)) / np.sqrt(rows)).astype("float32")
    return _PROJECTIONS[rows, columns]


@register_serializable(package="broken_layers")
class ProjectionCachedPerProcess(keras.layers.Layer):
    """Breaks check_fresh_process_load: random Fourier features whose projection is a
    module-level cache rather than a weight; another process draws another projection."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def call(self, inputs):
        projection = _cached_projection(int(inputs.shape[-1]), self.units)
        return tf.cos(tf.matmul(inputs, projection))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package="broken_layers")
class BranchesNamedAfterInstance(keras.layers.Layer):
    """Breaks check_weights_h5_round_trip: keeps its two branches in attributes named after
    the layer's own (unique) name, so another instance's weights are found under other paths."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        setattr(self, f"{self.name}_linear", keras.layers.Dense(units))
        setattr(self, f"{self.name}_gate", keras.layers.Dense(units, activation="sigmoid"))

    def call(self, inputs):
        linear = getattr(self, f"{self.name}_linear")
        gate = getattr(self, f"{self.name}_gate")
        return linear(inputs) * gate(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


#: Per-bucket scales for the inputs rounded to halves, shared by every instance.
_BUCKET_SCALES = tf.lookup.StaticHashTable(
    tf.lookup.KeyValueTensorInitializer(tf.range(9, dtype=tf.int64), tf.linspace(0.5, 1.5, 9)),
    default_value=1.0,
)


@register_serializable(package="broken_layers")
class UsesModuleLevelTable(keras.layers.Layer):
    """Breaks check_saved_model_export: scales its inputs by a module-level lookup table that
    no layer tracks, so the SavedModel cannot capture it."""

    def call(self, inputs):
        buckets = tf.cast(tf.clip_by_value(tf.round(inputs * 2.0) + 4.0, 0.0, 8.0), tf.int64)
        return inputs * tf.cast(_BUCKET_SCALES.lookup(buckets), inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


def _numpy_soft_sign(array):
    return (array / (1.0 + np.abs(array))).astype(array.dtype)


@register_serializable(package="broken_layers")
class CallsNumpyFunction(keras.layers.Layer):
    """Breaks check_saved_model_export: computes its activation with tf.numpy_function, which
    the SavedModel keeps as a call back into the exporting Python process."""

    def call(self, inputs):
        outputs = tf.numpy_function(_numpy_soft_sign, [inputs], inputs.dtype)
        outputs.set_shape(inputs.shape)
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape


BROKEN = {
    "check_get_config_json": [
        (HelperObjectInConfig, {"units": 4, "vocabulary": ["x", "y"]}, _VECTOR),
        (SetInConfig, {"units": 4, "masked_units": [1, 2]}, _VECTOR),
    ],
    "check_config_keeps_kwargs": [
        (ActivationLeftOutOfConfig, {"units": 4, "activation": "relu"}, _VECTOR),
        (UnitsSavedUnderOtherKey, {"units": 3}, _VECTOR),
    ],
    # Each argument checked at its default: only varying it shows what the config loses.
    "check_config_keeps_non_default_kwargs": [
        (UseBiasLeftOutOfConfig, {"units": 3}, _VECTOR),
        (EpsilonSavedAsDefault, {}, _VECTOR),
    ],
    "check_from_config_same_outputs": [(StoresDerivedValue, {"temperature": 4.0}, _VECTOR)],
    "check_keras_save_load": [
        (RequiredArgumentNotInConfig, {"units": 4}, _VECTOR),
        (NotRegistered, {"units": 4}, _VECTOR),
    ],
    "check_fresh_process_load": [
        (ProjectionCachedPerProcess, {"units": 8}, _VECTOR),
        (NotRegistered, {"units": 4}, _VECTOR),
    ],
    "check_weights_h5_round_trip": [(BranchesNamedAfterInstance, {"units": 4}, _VECTOR)],
    "check_saved_model_export": [
        (UsesModuleLevelTable, {}, _VECTOR),
        (CallsNumpyFunction, {}, _VECTOR),
    ],
}

#: Extra CheckSpec fields some cases need: the full tier for the subprocess and export
#: checks, and an import path that a fresh process can load the class from.
SPEC_OPTIONS = {
    ProjectionCachedPerProcess: {
        "tier": "full",
        "import_path": "examples/broken_layers/serialization.py:ProjectionCachedPerProcess",
    },
    NotRegistered: {
        "tier": "full",
        "import_path": "examples/broken_layers/serialization.py:NotRegistered",
    },
    UsesModuleLevelTable: {"tier": "full"},
    CallsNumpyFunction: {"tier": "full"},
}
