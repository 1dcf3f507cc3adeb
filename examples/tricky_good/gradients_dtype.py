"""Correct layers that naive gradient and dtype checks blame: weights unused by one call
mode (or by the values of this call's labels), gates initialised to zero, kinks at
initialisation, updates below float32 resolution, float32 paths under a float64 policy
(beside float64 ones), float32 outputs by design and layers with autocast turned off."""

import tensorflow as tf

from keras_compat import keras, register_serializable

_PACKAGE = "tricky_good"


@register_serializable(package=_PACKAGE)
class ReZeroBlock(keras.layers.Layer):
    """x + alpha * tanh(x W + b), with alpha initialised to exactly 0 (ReZero): at
    initialisation the kernel and bias get an all-zero gradient, by design."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(dim, dim), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(dim,), initializer="zeros")
        self.alpha = self.add_weight(name="alpha", shape=(), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        branch = tf.tanh(tf.matmul(inputs, self.kernel) + self.bias)
        return inputs + self.alpha * branch

    def compute_output_shape(self, input_shape):
        return input_shape


@register_serializable(package=_PACKAGE)
class UntiedReversibleEmbedding(keras.layers.Layer):
    """An embedding whose ``reverse=True`` call projects hidden states back to logits with
    its own, untied matrix: a call with ids (the default) never uses ``reverse_embeddings``."""

    def __init__(self, input_dim=20, output_dim=4, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim

    def build(self, input_shape):
        self.embeddings = self.add_weight(name="embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer="uniform")
        self.reverse_embeddings = self.add_weight(name="reverse_embeddings",
                                                  shape=(self.output_dim, self.input_dim),
                                                  initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, inputs, reverse=False):
        if reverse:
            return tf.matmul(inputs, self.reverse_embeddings)
        return tf.gather(self.embeddings, tf.cast(inputs, "int32"))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim}


@register_serializable(package=_PACKAGE)
class ConvBatchNormReLU(keras.layers.Layer):
    """relu -> bias-free depthwise conv -> batch norm (beta = 0) -> relu, as in MobileNet
    blocks: where a 3x3 window of the rectified input is all zero, the second ReLU's
    pre-activation is exactly 0 at initialisation, a kink where autodiff and central
    differences legitimately disagree."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False)
        self.norm = keras.layers.BatchNormalization()

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.norm.build(input_shape)
        super().build(input_shape)

    def call(self, inputs, training=None):
        return tf.nn.relu(self.norm(self.conv(tf.nn.relu(inputs)), training=training))

    def compute_output_shape(self, input_shape):
        return input_shape


@register_serializable(package=_PACKAGE)
class SmallInitDense(keras.layers.Dense):
    """A Dense layer initialised with a 0.02-std normal kernel, as transformer layers are."""

    def __init__(self, units=4, **kwargs):
        kwargs.setdefault("kernel_initializer", keras.initializers.RandomNormal(stddev=0.02))
        super().__init__(units, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("kernel_initializer", None)
        return config


@register_serializable(package=_PACKAGE)
class LearnedTimescaleEncoding(keras.layers.Layer):
    """x + sin(x / timescale) with a learned timescale initialised at 1e4 (a learned
    RoPE-style wavelength): one SGD step at a learning rate of 0.1 moves it by far less than
    float32 resolution at 1e4, so it does not change, and that is not a defect."""

    def build(self, input_shape):
        self.timescale = self.add_weight(name="timescale", shape=(), initializer=keras.initializers.Constant(1e4))
        super().build(input_shape)

    def call(self, inputs):
        return inputs + tf.sin(inputs / self.timescale)

    def compute_output_shape(self, input_shape):
        return input_shape


@register_serializable(package=_PACKAGE)
class FourierMixing(keras.layers.Layer):
    """FNet's token mixing: the real part of a 2D FFT over (sequence, features), computed on
    a complex64 cast (TensorFlow's FFT has no float16 kernel and FNet computes it in
    complex64), then a learned projection in the compute dtype. Under a float64 policy the
    FFT path carries float32 precision: check_float64_policy reports it, finite differences
    must not blame the gradient."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(int(input_shape[-1]), self.units),
                                      initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, inputs):
        mixed = tf.math.real(tf.signal.fft2d(tf.cast(inputs, tf.complex64)))
        return tf.matmul(tf.cast(mixed, self.compute_dtype), self.kernel)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class Float32RMSNorm(keras.layers.Layer):
    """RMS normalisation computed in float32 whatever the policy, then cast back and scaled
    (as Gemma's and T5's norms do, for stability under mixed precision). Under a float64
    policy the inputs' path carries float32 precision; the scale's does not. Each step is
    normalised on its own, so it hands a mask on."""

    def __init__(self, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.supports_masking = True

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(int(input_shape[-1]),), initializer="ones")
        super().build(input_shape)

    def call(self, inputs):
        x = tf.cast(inputs, tf.float32)
        normed = x * tf.math.rsqrt(tf.reduce_mean(tf.square(x), axis=-1, keepdims=True) + self.epsilon)
        return tf.cast(normed, self.compute_dtype) * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@register_serializable(package=_PACKAGE)
class Float32ResidualBlock(keras.layers.Layer):
    """Returns ``(hidden, residual)``: the hidden state in the compute dtype and the residual
    stream kept in float32 on purpose under mixed precision; declared with the trait
    ``float32_outputs``. Its variables follow the policy."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(dim, dim), initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, inputs):
        hidden = tf.matmul(inputs, self.kernel)
        residual_dtype = tf.float32 if self.compute_dtype == "float16" else self.compute_dtype
        residual = tf.cast(inputs, residual_dtype) + tf.cast(hidden, residual_dtype)
        return hidden, residual

    def compute_output_shape(self, input_shape):
        return (input_shape, input_shape)


@register_serializable(package=_PACKAGE)
class SideInputBlend(keras.layers.Layer):
    """``x * w + context``: the context is a second argument, which Keras 2 does not autocast
    under mixed precision; in a model it arrives in float16 from the layer that made it."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(int(input_shape[-1]),), initializer="ones")
        super().build(input_shape)

    def call(self, inputs, context):
        return inputs * self.scale + context

    def compute_output_shape(self, input_shape):
        return input_shape


@register_serializable(package=_PACKAGE)
class GramDeterminant(keras.layers.Layer):
    """The determinant of each sample's Gram matrix x^T x (a volume term, as in normalising
    flows). TensorFlow has no float16 kernel for MatrixDeterminant on CPU: under mixed
    precision that is the device's limit, not the layer's. XLA has no kernel for it either
    (declared not_xla_compatible)."""

    def call(self, inputs):
        return tf.linalg.det(tf.matmul(inputs, inputs, transpose_a=True))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)


@register_serializable(package=_PACKAGE)
class FourierResidualMixing(FourierMixing):
    """FNet's encoder block: ``x + real(FFT2D(x))`` with the FFT on a complex64 cast, then a
    learned projection. The inputs reach the output by a float64 path (the residual) and a
    float32 one (the FFT) under a float64 policy: moving them by a step below float32
    resolution follows the residual alone, so the probe must compare slopes over two steps
    to see the float32 path (check_float64_policy reports it; finite differences compare at
    float32 precision and pass)."""

    def call(self, inputs):
        mixed = tf.math.real(tf.signal.fft2d(tf.cast(inputs, tf.complex64)))
        return tf.matmul(inputs + tf.cast(mixed, inputs.dtype), self.kernel)


@register_serializable(package=_PACKAGE)
class AutocastOffProjection(keras.layers.Layer):
    """Projects hidden states to logits with ``autocast=False``, as Keras's Embedding (and
    keras-hub's ReversibleEmbedding, whose ``reverse=True`` call this is) sets it: the
    inputs are used in the dtype they come in, so a float32 input gives a float32 output
    under mixed precision, and the float16 input a model chains to it gives float16."""

    def __init__(self, units=6, **kwargs):
        kwargs["autocast"] = False
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(int(input_shape[-1]), self.units),
                                      initializer="glorot_uniform")
        super().build(input_shape)

    def call(self, inputs):
        return tf.matmul(inputs, tf.cast(self.kernel, inputs.dtype))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = {**super().get_config(), "units": self.units}
        config.pop("autocast", None)
        return config


@register_serializable(package=_PACKAGE)
class BoxesAndScores(keras.layers.Layer):
    """Returns ``{"boxes": ..., "scores": ...}``: boxes decoded from anchor offsets and kept
    in float32 under every policy (as keras.utils.bounding_boxes and keras-hub's
    NonMaxSuppression/AnchorGenerator keep pixel coordinates), scores in the compute dtype.
    The boxes output is declared (``float32_outputs=["boxes"]``); the scores still follow
    the policy, at its precision."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(int(input_shape[-1]),), initializer="ones")
        super().build(input_shape)

    def call(self, inputs):
        boxes = tf.cast(inputs, tf.float32) * tf.cast(self.scale, tf.float32) * 16.0
        scores = tf.sigmoid(tf.reduce_sum(inputs * self.scale, axis=-1))
        return {"boxes": boxes, "scores": scores}

    def compute_output_shape(self, input_shape):
        return {"boxes": tuple(input_shape), "scores": tuple(input_shape[:-1])}


@register_serializable(package=_PACKAGE)
class LabelledPointPrompts(keras.layers.Layer):
    """SAM's prompt encoder in small: each point's embedding is its projected coordinates
    plus a learned embedding selected by its label's value (0 background, 1 foreground, -1
    padding, 2/3 the corners of a box prompt) through ``tf.where``; ``boxes=`` adds box
    prompts. A call with point labels 0/1 selects neither the padding nor the corner
    embeddings: they are connected to the output but get an all-zero gradient, and moving
    them changes nothing. They are unused by this call, not broken."""

    def __init__(self, hidden_size=4, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size

    def build(self, input_shape=None):
        dim = self.hidden_size
        self.projection = self.add_weight(name="projection", shape=(2, dim), initializer="glorot_uniform")
        self.label_embeddings = {
            label: self.add_weight(name=f"{name}_embed", shape=(dim,), initializer="random_normal")
            for label, name in ((0, "background"), (1, "foreground"), (-1, "not_a_point"),
                                (2, "top_left_corner"), (3, "bottom_right_corner"))}
        super().build(input_shape)

    def _embed(self, points, labels):
        embedded = tf.matmul(points, self.projection)
        for label, embedding in self.label_embeddings.items():
            selected = tf.expand_dims(tf.equal(labels, label), -1)
            embedded = tf.where(selected, embedded + embedding, embedded)
        return embedded

    def call(self, points, labels, boxes=None):
        embedded = self._embed(points, labels)
        if boxes is not None:
            corners = tf.reshape(boxes, (-1, 2, 2))
            corner_labels = tf.tile(tf.constant([[2, 3]]), (tf.shape(corners)[0], 1))
            box_embedded = tf.reshape(self._embed(corners, corner_labels), (tf.shape(boxes)[0], -1, self.hidden_size))
            embedded = tf.concat([embedded, box_embedded], axis=1)
        return embedded

    def compute_output_shape(self, points_shape, labels_shape=None, boxes_shape=None):
        return tuple(points_shape[:-1]) + (self.hidden_size,)

    def get_config(self):
        return {**super().get_config(), "hidden_size": self.hidden_size}


#: ``label: (class, kwargs, inputs, traits)`` for the tests and the verdict sweeps.
CASES = {
    "ReZeroBlock": (ReZeroBlock, {}, ["3,5"], set()),
    "UntiedReversibleEmbedding": (UntiedReversibleEmbedding, {}, ["3,6:int32@0..20"], set()),
    "ConvBatchNormReLU": (ConvBatchNormReLU, {}, ["2,8,8,3"], set()),
    "SmallInitDense": (SmallInitDense, {"units": 4}, ["3,7"], set()),
    "LearnedTimescaleEncoding": (LearnedTimescaleEncoding, {}, ["3,5"], set()),
    "FourierMixing": (FourierMixing, {"units": 4}, ["2,5,6"], set()),
    "Float32RMSNorm": (Float32RMSNorm, {}, ["2,5,6"], set()),
    "Float32ResidualBlock": (Float32ResidualBlock, {}, ["3,5"], {"float32_outputs"}),
    "SideInputBlend": (SideInputBlend, {}, ["3,5", "context=3,5"], set()),
    "GramDeterminant": (GramDeterminant, {}, ["3,4,2"], {"not_xla_compatible"}),
    "FourierResidualMixing": (FourierResidualMixing, {"units": 4}, ["2,5,6"], set()),
    "AutocastOffProjection": (AutocastOffProjection, {"units": 6}, ["3,5"], set()),
    "BoxesAndScores": (BoxesAndScores, {}, ["3,4@0..1"], set()),
    "LabelledPointPrompts": (LabelledPointPrompts, {"hidden_size": 4},
                             ["points=2,3,2@0..1", "labels=2,3:int32@0..2"], set()),
}

#: More CheckSpec fields a case is checked with (declarations that are not traits).
FIELDS = {"BoxesAndScores": {"float32_outputs": ["boxes"]}}

#: The checks each case is meant to fail, and why: a precision limit the layer has by design
#: and check_float64_policy must report (declared with --trait no_float64).
EXPECTED_REPORTS = {
    "FourierMixing": {"check_float64_policy": "its FFT computes in complex64 (float32 precision)"},
    "Float32RMSNorm": {"check_float64_policy": "it normalises in float32"},
    "FourierResidualMixing": {"check_float64_policy": "its FFT computes in complex64 (float32 precision)"},
}
