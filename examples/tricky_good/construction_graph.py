"""Correct layers that naive construction, serialization, graph and modes checks blame:
weights made in ``__init__``, random training outputs that two calls can agree on, results
in no promised order, an inherited sublayer left unused, a base class without ``trainable``
and a config holding Keras objects."""

import tensorflow as tf

from keras_compat import keras, register_serializable

_PACKAGE = "tricky_good"


@register_serializable(package=_PACKAGE)
class InitKernelDense(keras.layers.Layer):
    """Keras's own ``Layer`` docstring style: the input width is known, so the weights are
    made in ``__init__`` and there is no ``build``."""

    def __init__(self, units=4, input_dim=7, **kwargs):
        super().__init__(**kwargs)
        self.units, self.input_dim = units, input_dim
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal", name="w")
        self.b = self.add_weight(shape=(units,), initializer="zeros", name="b")

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "input_dim": self.input_dim}


@register_serializable(package=_PACKAGE)
class DropPath(keras.layers.Layer):
    """Stochastic depth: in training each sample's input is dropped whole with probability
    ``rate`` (the rest scaled by 1 / (1 - rate)). On a batch of 2 at rate 0.5 two training
    calls agree about half the time, yet the layer is random in training."""

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        shape = tf.concat([tf.shape(inputs)[:1], tf.ones([tf.rank(inputs) - 1], tf.int32)], 0)
        keep = tf.cast(tf.random.uniform(shape) >= self.rate, inputs.dtype)
        return inputs * keep / (1.0 - self.rate)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@register_serializable(package=_PACKAGE)
class UnsortedTopK(keras.layers.Layer):
    """The ``k`` largest entries of each row and their positions, in no promised order
    (``top_k(sorted=False)``): XLA returns the same pairs in another order."""

    def __init__(self, k=3, **kwargs):
        super().__init__(**kwargs)
        self.k = k

    def call(self, inputs):
        top = tf.math.top_k(inputs, k=self.k, sorted=False)
        return top.values, top.indices

    def get_config(self):
        return {**super().get_config(), "k": self.k}


class _InverseSqrtWidthScale(keras.layers.Layer):
    """Scales by 1 / sqrt(width): its build() reads the width and makes no weight."""

    def build(self, input_shape):
        self.scale = float(input_shape[-1]) ** -0.5

    def call(self, inputs):
        return inputs * self.scale


class _FlatteningBlock(keras.layers.Layer):
    """A base block that scales and flattens its output with two weightless sublayers."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale = _InverseSqrtWidthScale()
        self.flatten = keras.layers.Flatten()

    def call(self, inputs):
        return self.flatten(self.scale(inputs))


@register_serializable(package=_PACKAGE)
class ProjectingBlock(_FlatteningBlock):
    """Replaces the base block's computation with a projection: the inherited weightless
    sublayers (a ``Flatten``, and a scale whose build() makes no weight) are never called,
    which is not a defect."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.projection = keras.layers.Dense(units)

    def build(self, input_shape):
        self.projection.build(input_shape)

    def call(self, inputs):
        return self.projection(inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class ChannelDropout(keras.layers.SpatialDropout1D):
    """A subclass of a Keras layer whose ``__init__`` takes no ``trainable`` (Keras 3's
    ``SpatialDropout1D``): it passes ``**kwargs`` on, and there is no ``trainable`` to honour."""

    def __init__(self, rate=0.25, **kwargs):
        super().__init__(rate, **kwargs)


@register_serializable(package=_PACKAGE)
class ConfiguredProjection(keras.layers.Layer):
    """A projection whose config holds Keras objects as Keras's own layers hand them to the
    serializer: an initializer object, a nested layer and a dtype; ``from_config`` takes
    both those objects and their serialized forms."""

    def __init__(self, units=4, kernel_initializer="glorot_uniform", activation_layer=None,
                 index_dtype="int32", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        if activation_layer is None:
            activation_layer = keras.layers.Activation("tanh")
        elif isinstance(activation_layer, dict):
            activation_layer = keras.layers.deserialize(activation_layer)
        self.activation_layer = activation_layer
        self.index_dtype = tf.as_dtype(index_dtype)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer)

    def call(self, inputs):
        return self.activation_layer(tf.matmul(inputs, self.kernel))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "kernel_initializer": self.kernel_initializer,
                "activation_layer": self.activation_layer, "index_dtype": self.index_dtype}


#: ``label: (class, kwargs, inputs, traits)`` for the tests and the verdict sweeps.
CASES = {
    "InitKernelDense": (InitKernelDense, {"units": 4, "input_dim": 7}, ["3,7"], set()),
    "DropPath": (DropPath, {"rate": 0.5}, ["2,5"], set()),
    "UnsortedTopK": (UnsortedTopK, {"k": 3}, ["3,10"], set()),
    "ProjectingBlock": (ProjectingBlock, {"units": 4}, ["3,7"], set()),
    "ChannelDropout": (ChannelDropout, {"rate": 0.25}, ["2,5,4"], set()),
    "ConfiguredProjection": (ConfiguredProjection, {"units": 4, "kernel_initializer": "he_normal"},
                             ["3,7"], set()),
}
