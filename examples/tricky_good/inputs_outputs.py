"""Correct layers that are called, or return, in ways a checker assuming "batched tensors
in, batched tensors out" would blame: outputs without a batch axis, a batch-1 broadcast
output, in-batch logits, ``(output, None)``, nested outputs, keyword tensors read with
``.shape.as_list()``, a sublayer or an array given to the constructor, inputs with no
batch axis, 0/1 masks in a float or integer dtype, a mask whose name does not say what
it masks, one-hot rows, a tuple argument, and a cache update with no gradient.

``CASES`` maps a label to the :class:`~conformance.spec.CheckSpec` arguments (beyond the
class) that call each layer as its docstring says.
"""

import numpy as np
import tensorflow as tf

from keras_compat import keras, register_serializable

_PACKAGE = "tricky_good"


@register_serializable(package=_PACKAGE)
class AnchoredBoxes(keras.layers.Layer):
    """A detection head: box deltas per sample ``(batch, anchors, 4)`` and the anchor
    boxes themselves ``(anchors, 4)``, the same for every sample: no batch axis."""

    def __init__(self, anchors=6, **kwargs):
        super().__init__(**kwargs)
        self.anchors = anchors
        self.head = keras.layers.Dense(anchors * 4)

    def build(self, input_shape):
        self.head.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        deltas = tf.reshape(self.head(inputs), [-1, self.anchors, 4])
        centres = tf.cast(tf.linspace(0.0, 1.0, self.anchors), self.compute_dtype)
        anchors = tf.stack([centres, centres, centres + 0.1, centres + 0.1], axis=-1)
        return deltas, anchors

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.anchors, 4), (self.anchors, 4)

    def get_config(self):
        return {**super().get_config(), "anchors": self.anchors}


@register_serializable(package=_PACKAGE)
class RelativePositionBias(keras.layers.Layer):
    """Adds a learnt relative position bias to attention logits ``(batch, length, length)``
    and also returns the bias, ``(1, length, length)``: broadcast against the batch."""

    def __init__(self, max_distance=8, **kwargs):
        super().__init__(**kwargs)
        self.max_distance = max_distance
        self.supports_masking = True

    def build(self, input_shape):
        self.table = self.add_weight(name="table", shape=(2 * self.max_distance + 1,),
                                     initializer="random_normal")
        super().build(input_shape)

    def call(self, logits):
        length = tf.shape(logits)[-1]
        positions = tf.range(length)
        distance = tf.clip_by_value(positions[None, :] - positions[:, None],
                                    -self.max_distance, self.max_distance) + self.max_distance
        bias = tf.gather(tf.convert_to_tensor(self.table), distance)[None]
        return logits + bias, bias

    def compute_mask(self, inputs, mask=None):
        return [mask, None]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape), (1,) + tuple(input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "max_distance": self.max_distance}


@register_serializable(package=_PACKAGE)
class InBatchLogits(keras.layers.Layer):
    """Retrieval training: every query scored against every candidate of the batch, a
    ``(batch, batch)`` logits matrix. Batch dependent by design (declared)."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.queries = keras.layers.Dense(units)
        self.candidates = keras.layers.Dense(units)

    def build(self, input_shape):
        self.queries.build(input_shape)
        self.candidates.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        return tf.matmul(self.queries(inputs), self.candidates(inputs), transpose_b=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[0])

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class OptionalCache(keras.layers.Layer):
    """Returns ``(outputs, cache)``: the cache is the keys seen so far when one is given,
    and None when none is (as documented for cached attention layers)."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)

    def build(self, input_shape):
        self.dense.build(input_shape)
        super().build(input_shape)

    def call(self, inputs, cache=None):
        outputs = self.dense(inputs)
        if cache is not None:
            cache = tf.concat([cache, outputs[:, None]], axis=1)
        return outputs, cache

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class NestedHeads(keras.layers.Layer):
    """Returns ``(hidden, {"logits": ..., "scores": ...})``: a tensor and a dict."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="tanh")
        self.logits = keras.layers.Dense(3)
        self.scores = keras.layers.Dense(1)

    def build(self, input_shape):
        self.hidden.build(input_shape)
        self.logits.build(tuple(input_shape[:-1]) + (self.units,))
        self.scores.build(tuple(input_shape[:-1]) + (self.units,))
        super().build(input_shape)

    def call(self, inputs):
        hidden = self.hidden(inputs)
        return hidden, {"logits": self.logits(hidden), "scores": self.scores(hidden)}

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class KeyShapeAttention(keras.layers.Layer):
    """Dot-product attention that reads the key depth with ``key.shape.as_list()`` (a
    TensorFlow tensor method): correct when called with tensors, as Keras calls layers (the
    depth, not the length, which is None for a variable-length key).
    Each query step's output depends on that step alone (and every key): it hands the
    query's mask on."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, query, key):
        depth = key.shape.as_list()[-1]
        scores = tf.matmul(query, key, transpose_b=True) / float(depth) ** 0.5
        return tf.matmul(tf.nn.softmax(scores, axis=-1), key)


@register_serializable(package=_PACKAGE)
class Residual(keras.layers.Layer):
    """``x + layer(x)`` around a layer given to the constructor (in ``--kwargs`` in Keras's
    serialized form, so each instance gets its own)."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape):
        if not self.layer.built:  # a layer deserialized from a config comes built
            self.layer.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        return inputs + self.layer(inputs)

    def get_config(self):
        return {**super().get_config(), "layer": keras.layers.serialize(self.layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.layers.deserialize(config["layer"])
        return cls(**config)


@register_serializable(package=_PACKAGE)
class CandidateScores(keras.layers.Layer):
    """Scores inputs against fixed candidate embeddings given as an array (from a
    ``kwargs_factory``); the config keeps them as nested lists."""

    def __init__(self, candidates, **kwargs):
        super().__init__(**kwargs)
        self.candidates = np.asarray(candidates, dtype="float32")
        self.projection = keras.layers.Dense(self.candidates.shape[-1])

    def build(self, input_shape):
        self.projection.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        candidates = tf.constant(self.candidates, dtype=self.compute_dtype)
        return tf.matmul(self.projection(inputs), candidates, transpose_b=True)

    def get_config(self):
        return {**super().get_config(), "candidates": self.candidates.tolist()}


def candidate_kwargs():
    """The ``kwargs_factory`` of :class:`CandidateScores`: five fixed candidates of width 3."""
    return {"candidates": np.random.default_rng(0).standard_normal((5, 3)).astype("float32")}


@register_serializable(package=_PACKAGE)
class AddPositionTable(keras.layers.Layer):
    """Adds a position table ``(length, features)`` with no batch axis and a gate
    ``(1, 1, features)`` broadcast against the batch to the sequence, then projects."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)
        self.supports_masking = True

    def build(self, inputs_shape, table_shape=None, gate_shape=None):
        self.dense.build(inputs_shape)
        super().build(inputs_shape)

    def call(self, inputs, table, gate):
        table, gate = tf.cast(table, inputs.dtype), tf.cast(gate, inputs.dtype)
        return self.dense(inputs + table[None] * tf.sigmoid(gate))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class MaskedMeanPool(keras.layers.Layer):
    """The mean over time of the kept steps, the mask given as 0/1 numbers in any dtype
    (``padding_mask``), as many tokenizers give it."""

    def call(self, inputs, padding_mask):
        kept = tf.cast(padding_mask, inputs.dtype)[..., None]
        return tf.reduce_sum(inputs * kept, axis=1) / tf.maximum(tf.reduce_sum(kept, axis=1), 1.0)


@register_serializable(package=_PACKAGE)
class CrossAttentionPool(keras.layers.Layer):
    """Decoder steps attend over encoder steps; ``encoder_padding_mask`` hides padded
    encoder steps (its name does not say it masks ``encoder_sequence``: declared)."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.keys = keras.layers.Dense(units)
        self.queries = keras.layers.Dense(units)

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None, encoder_padding_mask_shape=None):
        self.queries.build(decoder_sequence_shape)
        self.keys.build(encoder_sequence_shape or decoder_sequence_shape)
        super().build(decoder_sequence_shape)

    def call(self, decoder_sequence, encoder_sequence, encoder_padding_mask):
        keys = self.keys(encoder_sequence)
        scores = tf.matmul(self.queries(decoder_sequence), keys, transpose_b=True)
        kept = tf.cast(encoder_padding_mask, tf.bool)[:, None, :]
        scores = tf.where(kept, scores, tf.fill(tf.shape(scores), tf.constant(-1e4, scores.dtype)))
        return tf.matmul(tf.nn.softmax(scores, axis=-1), keys)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class OneHotProjection(keras.layers.Layer):
    """Projects one-hot rows (a class per step) with a learnt table."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units, use_bias=False)

    def build(self, input_shape):
        self.dense.build(input_shape)
        super().build(input_shape)

    def call(self, inputs):
        return self.dense(tf.cast(inputs, self.compute_dtype))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class SegmentConcat(keras.layers.Layer):
    """Packs segments given as a tuple side by side; a list would be one batch of
    sequences (as keras-hub packers read it), which this layer does not take."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)

    def build(self, input_shape):
        width = int(input_shape[0][-1])
        self.dense.build((None, None, width))
        super().build(input_shape)

    def call(self, inputs):
        if not isinstance(inputs, tuple):
            raise TypeError(f"segments come as a tuple, got {type(inputs).__name__}")
        return self.dense(tf.concat(list(inputs), axis=1))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package=_PACKAGE)
class CacheUpdate(keras.layers.Layer):
    """Appends the projected step to a key cache for decoding: an inference-only call
    mode, no gradient flows through the cache (declared inference_only)."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)

    def build(self, inputs_shape, cache_shape=None):
        self.dense.build(inputs_shape)
        super().build(inputs_shape)

    def call(self, inputs, cache):
        step = tf.stop_gradient(self.dense(inputs))
        return tf.concat([cache, step[:, None]], axis=1)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


CASES = {
    "AnchoredBoxes": {"cls": AnchoredBoxes, "inputs": ["3,5"]},
    # 3 anchors and a batch of 3: the anchor table could be a batch frozen into the layer,
    # so it is declared
    "AnchoredBoxesAsManyAsTheBatch": {"cls": AnchoredBoxes, "inputs": ["3,5"], "kwargs": {"anchors": 3},
                                      "unbatched_outputs": ["1"]},
    "RelativePositionBias": {"cls": RelativePositionBias, "inputs": ["3,5,5!seq=1,2"]},  # both lengths
    "InBatchLogits": {"cls": InBatchLogits, "inputs": ["3,5"], "traits": {"batch_dependent"}},
    "OptionalCache": {"cls": OptionalCache, "inputs": ["3,5"]},
    "NestedHeads": {"cls": NestedHeads, "inputs": ["3,5"]},
    "NestedHeadsLossOnHeads": {"cls": NestedHeads, "inputs": ["3,5"], "loss_outputs": ["1"]},
    "KeyShapeAttention": {"cls": KeyShapeAttention, "inputs": ["query=3,2,4", "key=3,5,4"]},
    "Residual": {"cls": Residual, "inputs": ["3,4"],
                 "kwargs": {"layer": {"module": "keras.layers", "class_name": "Dense",
                                      "config": {"units": 4}, "registered_name": None}}},
    "CandidateScores": {"cls": CandidateScores, "inputs": ["3,4"],
                        "kwargs_factory": "examples.tricky_good.inputs_outputs:candidate_kwargs"},
    "AddPositionTable": {"cls": AddPositionTable,
                         "inputs": ["3,5,4", "table=5,4!unbatched", "gate=1,1,4!broadcast"]},
    "MaskedMeanPool": {"cls": MaskedMeanPool, "inputs": ["3,5,4", "padding_mask=3,5:float32!mask"]},
    "MaskedMeanPoolIntMask": {"cls": MaskedMeanPool, "inputs": ["3,5,4", "padding_mask=3,5:int32!mask"]},
    "CrossAttentionPool": {"cls": CrossAttentionPool, "inputs": [
        "decoder_sequence=3,2,4", "encoder_sequence=3,5,4",
        "encoder_padding_mask=3,5:bool!mask_of=encoder_sequence"]},
    "OneHotProjection": {"cls": OneHotProjection, "inputs": ["3,5,7!onehot"]},
    "SegmentConcat": {"cls": SegmentConcat, "inputs": ["inputs.0=3,4,2!tuple", "inputs.1=3,3,2!tuple"]},
    "CacheUpdate": {"cls": CacheUpdate, "inputs": ["3,4", "cache=3,2,4"], "traits": {"inference_only"}},
}
