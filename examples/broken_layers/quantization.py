"""Layers that break the quantization contracts (Keras 3's ``model.quantize``)."""

from keras_compat import keras, register_serializable

ops = getattr(keras, "ops", None)  # Keras 3 only, like quantization itself


@register_serializable(package="broken_layers")
class TiedEmbeddingHead(keras.layers.Layer):
    """Breaks check_quantized_outputs_close: a language-model head tied to its token
    embedding reads ``self.embedding.embeddings`` as the output projection. After
    ``quantize("int8")`` that table holds int8 values whose per-row scale Embedding keeps
    in ``embeddings_scale``, so the logits come out ~100 times too large."""

    def __init__(self, vocabulary_size=20, width=8, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.width = width
        self.embedding = keras.layers.Embedding(vocabulary_size, width)

    def call(self, token_ids):
        hidden = self.embedding(token_ids)
        table = ops.cast(self.embedding.embeddings, hidden.dtype)
        return ops.matmul(hidden, ops.transpose(table))

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size, "width": self.width}


@register_serializable(package="broken_layers")
class SelfQuantizingProjection(keras.layers.Layer):
    """Breaks check_quantized_save_load: it implements ``quantize("int8")`` and
    ``_int8_call`` itself (an int8 kernel and a scale per unit) and runs quantized, but not
    ``quantized_build``: its ``build()`` always makes the float kernel, so the copy
    ``load_model`` builds from its config (dtype int8_from_float32) has no place for the
    int8 kernel and the scale in the file."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")

    def quantize(self, mode=None, type_check=True, config=None):
        if mode != "int8":
            raise NotImplementedError(f"{type(self).__name__} quantizes to int8 only, not {mode}")
        kernel = ops.convert_to_tensor(self.kernel)
        scale = ops.maximum(ops.max(ops.abs(kernel), axis=0), 1e-7) / 127.0
        values = ops.cast(ops.round(kernel / scale), "int8")
        self._tracker.unlock()
        del self.kernel
        self.kernel = self.add_weight(shape=values.shape, dtype="int8", trainable=False,
                                      initializer="zeros", name="kernel")
        self.kernel_scale = self.add_weight(shape=scale.shape, trainable=False,
                                            initializer="ones", name="kernel_scale")
        self._tracker.lock()
        self.kernel.assign(values)
        self.kernel_scale.assign(scale)
        self._is_quantized = True  # before the policy: setting it would quantize again
        self.dtype_policy = f"int8_from_{self.dtype_policy.name}"

    def call(self, inputs):
        return ops.matmul(inputs, self.kernel)

    def _int8_call(self, inputs):  # what Keras calls once the policy is int8
        return ops.matmul(inputs, ops.cast(self.kernel, self.compute_dtype) * self.kernel_scale)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


BROKEN = {
    "check_quantized_outputs_close": [
        (TiedEmbeddingHead, {"vocabulary_size": 20, "width": 8}, ["3,5:int32@0..20"]),
    ],
    "check_quantized_save_load": [(SelfQuantizingProjection, {"units": 4}, ["3,7"])],
}

#: The save-load check runs in the full tier only.
SPEC_OPTIONS = {SelfQuantizingProjection: {"tier": "full"}}
