"""Broken layers for the dtype checks: float32 hard-coded where the policy should decide."""

import tensorflow as tf

from keras_compat import keras, register_serializable


class _Dense(keras.layers.Layer):
    weight_dtype = None  # None: the policy's variable dtype

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(int(input_shape[-1]), self.units),
                                      initializer="glorot_uniform", dtype=self.weight_dtype)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros",
                                    dtype=self.weight_dtype)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


class Float32PinnedDense(_Dense):
    """Breaks check_mixed_precision: creates float32 weights and casts its inputs and weights
    to float32 "for stability", so it outputs float32 whatever the policy (check_float64_policy
    catches it too)."""

    weight_dtype = "float32"

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        return tf.matmul(x, tf.cast(self.kernel, tf.float32)) + tf.cast(self.bias, tf.float32)


class Float32WeightsDense(_Dense):
    """Breaks check_float64_policy: hard-codes dtype="float32" in add_weight() (harmless
    under mixed precision, whose variables are float32) and casts the weights to the input
    dtype, so under a float64 policy its variables stay float32."""

    weight_dtype = "float32"

    def call(self, inputs):
        kernel = tf.cast(self.kernel, inputs.dtype)
        return tf.matmul(inputs, kernel) + tf.cast(self.bias, inputs.dtype)


class Float32Softmax(keras.layers.Layer):
    """Breaks check_float64_policy: computes its softmax after tf.cast(x, "float32") and
    casts back only to float16, as written for mixed precision."""

    def call(self, inputs):
        outputs = tf.nn.softmax(tf.cast(inputs, "float32"))
        return tf.cast(outputs, tf.float16) if inputs.dtype == tf.float16 else outputs

    def compute_output_shape(self, input_shape):
        return input_shape


class Float32KernelDense(_Dense):
    """Breaks check_float64_policy (precision): a "fast kernel" that runs its matmul in float32
    and casts the result back to the compute dtype. Outputs and weights are float64 under a
    float64 policy, but the numbers carry float32 precision. Its gradient is right, so
    check_gradients_match_finite_differences must pass it, at float32 precision."""

    def call(self, inputs):
        product = tf.matmul(tf.cast(inputs, tf.float32), tf.cast(self.kernel, tf.float32))
        return tf.cast(product, self.compute_dtype) + self.bias


class Float16VariablesDense(_Dense):
    """Breaks check_mixed_precision (variables): creates its weights in self.compute_dtype,
    so under mixed precision they are float16 and small updates are lost. It declares
    float32_outputs (its output is cast to float32 on purpose), which exempts outputs only."""

    def build(self, input_shape):
        self.weight_dtype = self.compute_dtype
        super().build(input_shape)

    def call(self, inputs):
        outputs = tf.matmul(inputs, self.kernel) + self.bias
        return tf.cast(outputs, tf.float32) if outputs.dtype == tf.float16 else outputs


@register_serializable(package="broken_layers")
class ProjectionWithoutDtype(keras.layers.Layer):
    """Breaks check_dtype_policy_reaches_sublayers: hands its dtype policy to the hidden Dense
    but makes the output projection without dtype=self.dtype_policy, so a layer given
    dtype="mixed_float16" projects in the global policy's dtype. Under a global policy both
    sublayers follow it, so the global-policy checks pass it."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(8, activation="relu", dtype=self.dtype_policy)
        self.projection = keras.layers.Dense(units)

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.projection.build(tuple(input_shape[:-1]) + (8,))
        super().build(input_shape)

    def call(self, inputs):
        return self.projection(self.hidden(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package="broken_layers")
class NormPinnedToFloat32(keras.layers.Layer):
    """Breaks check_dtype_policy_reaches_sublayers (float64): keeps its normalisation in
    float32 for mixed precision by hard-coding dtype="float32", so a layer given
    dtype="float64" normalises at float32 precision (float32 kept on purpose passes under
    mixed precision only, unless the layer declares float32_sublayers)."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units, dtype=self.dtype_policy)
        self.norm = keras.layers.LayerNormalization(dtype="float32")

    def build(self, input_shape):
        self.dense.build(input_shape)
        self.norm.build(tuple(input_shape[:-1]) + (self.units,))
        super().build(input_shape)

    def call(self, inputs):
        return tf.cast(self.norm(self.dense(inputs)), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


_VECTOR = [(4, 6)]

#: Declarations a broken layer is checked with.
SPEC_OPTIONS = {Float16VariablesDense: {"traits": {"float32_outputs"}}}

BROKEN = {
    "check_mixed_precision": [
        (Float32PinnedDense, {"units": 3}, _VECTOR),
        (Float16VariablesDense, {"units": 3}, _VECTOR),
    ],
    "check_float64_policy": [
        (Float32PinnedDense, {"units": 3}, _VECTOR),
        (Float32WeightsDense, {"units": 3}, _VECTOR),
        (Float32Softmax, {}, _VECTOR),
        (Float32KernelDense, {"units": 3}, _VECTOR),
    ],
    "check_dtype_policy_reaches_sublayers": [
        (ProjectionWithoutDtype, {"units": 3}, _VECTOR),
        (NormPinnedToFloat32, {"units": 3}, _VECTOR),
    ],
}
