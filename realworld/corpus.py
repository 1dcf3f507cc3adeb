"""The real-world corpus: public layers of keras-hub, keras-rs and Keras's less common built-ins.

Each target is called the way its own documentation calls it (the doc's call is quoted in
``doc_call``), only with smaller sizes. Nothing is downloaded: every layer is built from its
constructor arguments with random weights, never from a preset.

A trait is declared only where the layer's documented behaviour needs it, with the reason
beside it (``traits`` maps trait -> justification). ``expected_failures`` holds the checks a
real defect of the library fails, each pointing at its write-up in docs/real-world-findings.md.
"""

import importlib
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

_FINDINGS = "real defect: see docs/real-world-findings.md#"
_BOXES_FLOAT32 = ("box coordinates stay float32 under mixed precision, as in "
                  "keras.utils.bounding_boxes, so that pixel coordinates keep their precision")
_MASK_DROPPED = _FINDINGS + "time-local-layers-that-drop-the-keras-mask"
_NO_XLA_KERNEL = "a preprocessing layer built on TensorFlow ops that have no XLA kernel ({})"


@dataclass(frozen=True)
class Target:
    """One layer of the corpus, as data (what a CheckSpec needs, plus where it comes from)."""

    import_path: str  # "keras_hub.layers:TransformerEncoder"
    kwargs: Mapping
    inputs: Sequence[str]
    doc_call: str
    call_kwargs: Optional[Mapping] = None
    traits: Mapping = field(default_factory=dict)  # trait -> why the layer needs it
    expected_failures: Mapping = field(default_factory=dict)  # check id -> reason
    suffix: str = ""  # tells apart two targets of one class ("[padding_mask]")
    # Other CheckSpec fields: kwargs_factory, loss_outputs, unbatched_outputs.
    spec_fields: Mapping = field(default_factory=dict)

    @property
    def library(self):
        return self.import_path.split(".")[0]

    @property
    def label(self):
        return f"{self.import_path}{self.suffix}"


def _hub(name, kwargs, inputs, doc_call, **fields):
    return Target(f"keras_hub.layers:{name}", kwargs, tuple(inputs), doc_call, **fields)


def _rs(name, kwargs, inputs, doc_call, **fields):
    return Target(f"keras_rs.layers:{name}", kwargs, tuple(inputs), doc_call, **fields)


def _keras(name, kwargs, inputs, doc_call, **fields):
    return Target(f"keras.layers:{name}", kwargs, tuple(inputs), doc_call, **fields)


def _serialized(class_name, **config):
    """A layer argument in Keras's serialized form, which the checker deserializes."""
    return {"class_name": class_name, "config": config}


_SEQUENCE = "2,5,8"

KERAS_HUB = [
    _hub("TransformerEncoder", {"intermediate_dim": 16, "num_heads": 2}, [_SEQUENCE],
         "encoder = TransformerEncoder(intermediate_dim=64, num_heads=8); encoder(input)  # (2, 10, 64)"),
    _hub("TransformerEncoder", {"intermediate_dim": 16, "num_heads": 2, "normalize_first": True},
         ["inputs=2,5,8", "padding_mask=2,5:bool"],
         "encoder(inputs, padding_mask=padding_mask)  # the call's documented padding_mask argument",
         suffix="[padding_mask,normalize_first]"),
    _hub("TransformerDecoder", {"intermediate_dim": 16, "num_heads": 2},
         ["decoder_sequence=2,5,8", "encoder_sequence=2,6,8"],
         "decoder = TransformerDecoder(intermediate_dim=64, num_heads=8); "
         "decoder(decoder_input, encoder_input)  # (2, 10, 64) each"),
    _hub("TransformerDecoder", {"intermediate_dim": 16, "num_heads": 2},
         ["decoder_sequence=2,5,8", "encoder_sequence=2,6,8", "decoder_padding_mask=2,5:bool",
          "encoder_padding_mask=2,6:bool!mask_of=encoder_sequence"],
         "decoder(decoder_sequence, encoder_sequence, decoder_padding_mask=..., encoder_padding_mask=...)",
         suffix="[padding_masks]"),
    _hub("TransformerDecoder", {"intermediate_dim": 16, "num_heads": 2},
         ["decoder_sequence=2,5,8"],
         "decoder(decoder_input)  # decoder-only (GPT-style): encoder_sequence is optional",
         suffix="[decoder_only]"),
    _hub("FNetEncoder", {"intermediate_dim": 16}, [_SEQUENCE],
         "encoder = FNetEncoder(intermediate_dim=64); encoder(input)  # (1, 10, 64)",
         expected_failures={"check_float64_policy": _FINDINGS + "keras-hub-fnetencoder"}),
    _hub("PositionEmbedding", {"sequence_length": 10}, ["2,10,8"],
         "layer = PositionEmbedding(sequence_length=10); layer(np.zeros((8, 10, 16)))"),
    _hub("TokenAndPositionEmbedding", {"vocabulary_size": 20, "sequence_length": 6, "embedding_dim": 8},
         ["2,6:int32@0..20"],
         "TokenAndPositionEmbedding(vocabulary_size=10_000, sequence_length=50, embedding_dim=128)"
         "(np.ones((1, 50), 'int32'))"),
    _hub("ReversibleEmbedding", {"input_dim": 20, "output_dim": 8}, ["2,6:int32@0..20"],
         "embedding = ReversibleEmbedding(vocab_size, hidden_dim); hidden_states = embedding(token_ids)"),
    _hub("ReversibleEmbedding", {"input_dim": 20, "output_dim": 8, "tie_weights": False}, ["2,6,8"],
         "logits = embedding(hidden_states, reverse=True)", call_kwargs={"reverse": True},
         expected_failures={"check_dropped_mask_reported": _MASK_DROPPED},
         suffix="[reverse,untied]"),
    _hub("RotaryEmbedding", {}, ["2,6,8"],
         "rot_emb_layer = RotaryEmbedding(); rot_emb_layer(np.ones((16, 256, 18)))",
         expected_failures={"check_dropped_mask_reported": _MASK_DROPPED}),
    _hub("RotaryEmbedding", {}, ["2,6,2,8"],
         "rot_emb_layer(np.ones((16, 256, 8, 18)))  # with a multi-head axis", suffix="[heads]"),
    _hub("SinePositionEncoding", {}, ["2,6,8"],
         "positional_encoding = SinePositionEncoding()(embedding)  # embedding: (None, 100, 32)"),
    _hub("AlibiBias", {}, ["2,4,5,5"],
         "alibi_layer = AlibiBias(); alibi_layer(attention_scores)  # (2, 4, 10, 10)"),
    _hub("CachedMultiHeadAttention", {"num_heads": 2, "key_dim": 4}, ["query=2,5,8", "value=2,5,8"],
         "the no-cache mode: 'No cache, same as regular multi-head attention'"),
    _hub("MaskedLMHead", {"vocabulary_size": 20, "activation": "softmax"},
         ["inputs=2,6,8", "mask_positions=2,3:int32@0..6"],
         "MaskedLMHead(vocabulary_size=vocab_size, activation='softmax')(hidden_states, mask_positions)"),
    _hub("MaskedLMHead",
         {"vocabulary_size": 20, "activation": "softmax",
          "token_embedding": _serialized("ReversibleEmbedding", input_dim=20, output_dim=8)},
         ["inputs=2,6,8", "mask_positions=2,3:int32@0..6"],
         "MaskedLMHead(vocabulary_size=vocab_size, token_embedding=token_embedding, "
         "activation='softmax')(hidden_states, mask_positions)",
         suffix="[token_embedding]"),
    _hub("RMSNormalization", {"input_dim": 8}, [_SEQUENCE],
         "RMSNormalization(input_dim)(x)  # normalises the last axis of width input_dim",
         expected_failures={
             check: _FINDINGS + "keras-hub-rmsnormalization"
             for check in ("check_accepts_base_kwargs", "check_config_keeps_kwargs",
                           "check_from_config_same_outputs", "check_keras_save_load",
                           "check_mixed_precision", "check_float64_policy")}
         | {"check_dropped_mask_reported": _FINDINGS + "time-local-layers-that-drop-the-keras-mask"}),
    _hub("NonMaxSuppression",
         {"bounding_box_format": "yxyx", "from_logits": False, "iou_threshold": 1.0,
          "confidence_threshold": 0.1, "max_detections": 1},
         ["box_prediction=2,5,4@0..1", "class_prediction=2,5,1@0..1"],
         "nms = NonMaxSuppression(bounding_box_format='yxyx', from_logits=False, iou_threshold=1.0, "
         "confidence_threshold=0.1, max_detections=1); nms(boxes, classes)",
         traits={"float32_outputs": _BOXES_FLOAT32},
         expected_failures={
             check: _FINDINGS + "keras-hub-nonmaxsuppression"
             for check in ("check_symbolic_unknown_batch", "check_symbolic_unknown_length",
                           "check_keras_save_load", "check_weights_h5_round_trip",
                           "check_predict_from_dataset", "check_fit_from_dataset")}),
    _hub("AnchorGenerator",
         {"bounding_box_format": "xyxy", "min_level": 3, "max_level": 4, "num_scales": 1,
          "aspect_ratios": [1.0], "anchor_size": 4.0},
         ["2,32,32,3"],
         "AnchorGenerator(bounding_box_format='xyxy', min_level=3, max_level=7, num_scales=3, "
         "aspect_ratios=[0.5, 1.0, 2.0], anchor_size=4.0)(images)",
         traits={"float32_outputs": _BOXES_FLOAT32}),
    _hub("BoxMatcher", {"thresholds": [0.4, 0.5], "match_values": [-1, -2, 1]}, ["2,5,6@0..1"],
         "matcher = BoxMatcher(thresholds=[0.4, 0.5], match_values=[-1, -2, 1]); "
         "match_indices, matched_values = matcher(sim_matrix)",
         expected_failures={"check_constructor_leaves_arguments_unchanged":
                            _FINDINGS + "keras-hub-boxmatcher"}),
    _hub("SAMPromptEncoder",
         {"hidden_size": 8, "image_embedding_size": (4, 4), "input_image_size": (16, 16),
          "mask_in_channels": 4},
         ["points=2,3,2@0..16", "labels=2,3:int32@0..2"],
         "SAMPromptEncoder(...)(points=points, labels=labels)  # point prompts only, as in SAM's "
         "point-prompt workflow: the box and mask branches are not used in this call",
         expected_failures={
             check: _FINDINGS + "keras-hub-sampromptencoder"
             for check in ("check_output_shapes_agree", "check_mixed_precision", "check_float64_policy",
                           "check_gradients_match_finite_differences",
                           "check_dtype_policy_reaches_sublayers")}),
    _hub("SAMMaskDecoder",
         {"hidden_size": 8, "num_layers": 1, "intermediate_dim": 16, "num_heads": 2, "embedding_dim": 8,
          "iou_head_hidden_dim": 8},
         ["image_embeddings=2,4,4,8", "prompt_dense_positional_embeddings=1,4,4,8!broadcast",
          "prompt_sparse_embeddings=2,3,8", "prompt_dense_embeddings=2,4,4,8"],
         "SAMMaskDecoder(...)(image_embeddings, prompt_dense_positional_embeddings, "
         "prompt_sparse_embeddings, prompt_dense_embeddings)  # the prompt encoder's outputs; the "
         "positional embeddings are one image's, broadcast over the batch"),
    _hub("StartEndPacker", {"sequence_length": 8, "start_value": 1, "end_value": 2},
         ["2,5:int32@3..20"],
         "StartEndPacker(sequence_length=6, start_value=1, end_value=2)([[5, 6, 7], [8, 9, 10, 11, 12, 13, 14]])",
         traits={"not_xla_compatible": _NO_XLA_KERNEL.format("RaggedRange: it packs ragged sequences")}),
]

KERAS_RS = [
    _rs("DotInteraction", {}, ["2,8", "2,8", "2,8"],
        "keras_rs.layers.DotInteraction()([feature1, feature2, feature3])  # (2, 32) each"),
    _rs("FeatureCross", {}, ["x0=2,8", "x=2,8"],
        "keras_rs.layers.FeatureCross()(feature1, feature2)  # (2, 32) each"),
    _rs("FeatureCross", {"projection_dim": 4, "diag_scale": 0.1}, ["x0=2,8"],
        "FeatureCross(projection_dim=...)(x0)  # x defaults to x0", suffix="[low_rank]"),
    _rs("HardNegativeMining", {"num_hard_negatives": 3}, ["logits=2,8", "labels=2,8!onehot"],
        "out_logits, out_labels = HardNegativeMining(num_hard_negatives=10)(in_logits, in_labels)"),
    _rs("SamplingProbabilityCorrection", {}, ["logits=2,8", "candidate_sampling_probability=2,8@0..1"],
        "SamplingProbabilityCorrection()(logits, probabilities)"),
    _rs("RemoveAccidentalHits", {}, ["logits=2,8", "labels=2,8!onehot", "candidate_ids=2,8:int32@0..5"],
        "RemoveAccidentalHits()(logits, labels, candidate_ids)  # candidate_ids [batch, num_candidates]",
        expected_failures={"check_mixed_precision": _FINDINGS + "keras-rs-removeaccidentalhits"}),
    _rs("RemoveAccidentalHits", {}, ["logits=2,8", "labels=2,8!onehot", "candidate_ids=8:int32@0..5!unbatched"],
        "RemoveAccidentalHits()(logits, labels, candidate_ids)  # candidate_ids [num_candidates]",
        expected_failures={"check_mixed_precision": _FINDINGS + "keras-rs-removeaccidentalhits"},
        suffix="[shared_candidate_ids]"),
    _rs("BruteForceRetrieval", {"k": 3}, ["2,8"],
        "retrieval = BruteForceRetrieval(k=100); retrieval.update_candidates(candidate_embeddings, "
        "candidate_ids); top_scores, top_ids = retrieval(query_embeddings)  # here: candidate_embeddings= "
        "given to the constructor, as its signature allows",
        spec_fields={"kwargs_factory": "realworld.corpus:retrieval_candidates"},
        expected_failures={check: _FINDINGS + "keras-rs-bruteforceretrieval"
                           for check in ("check_from_config_same_outputs", "check_keras_save_load",
                                         "check_config_keeps_non_default_kwargs")}),
    _rs("EmbedReduce", {"input_dim": 20, "output_dim": 8}, ["2,5:int32@0..20"],
        "EmbedReduce(input_dim, output_dim)(ids)  # 2D ids: dimension 1 reduced with the combiner"),
]

KERAS = [
    _keras("UnitNormalization", {}, ["3,7"], "keras.layers.UnitNormalization(axis=-1)(data)"),
    _keras("GroupNormalization", {"groups": 2}, ["2,6,6,4"], "GroupNormalization(groups=2)(images)"),
    _keras("RMSNormalization", {}, [_SEQUENCE], "keras.layers.RMSNormalization()(x)",
           expected_failures={"check_dropped_mask_reported": _MASK_DROPPED}),
    _keras("SpectralNormalization", {"layer": _serialized("Dense", units=4)}, ["2,5,3"],
           "SpectralNormalization(keras.layers.Dense(10))(np.random.rand(1, 10, 10, 1))",
           expected_failures={"check_trainable_false_freezes": _FINDINGS + "keras-spectralnormalization",
                              "check_quantized_save_load": _FINDINGS + "keras-spectralnormalization"}),
    _keras("Bidirectional", {"layer": _serialized("LSTM", units=4, return_sequences=True)},
           ["2,5,3", "mask=2,5:bool"],
           "Bidirectional(LSTM(10, return_sequences=True))(x)  # (5, 10) input"),
    _keras("EinsumDense", {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, ["3,7"],
           "EinsumDense('ab,bc->ac', output_shape=64, bias_axes='c')(keras.Input(shape=[32]))"),
    _keras("GroupQueryAttention", {"head_dim": 4, "num_query_heads": 4, "num_key_value_heads": 2},
           ["query=2,5,8", "value=2,6,8"], "GroupQueryAttention(...)(query, value)"),
    _keras("ZeroPadding1D", {"padding": 2}, ["2,5,3"], "ZeroPadding1D(padding=2)(x)  # (2, 2, 3)"),
    _keras("Cropping2D", {"cropping": ((1, 1), (2, 1))}, ["2,8,8,3"],
           "Cropping2D(cropping=((2, 2), (4, 4)))(x)  # (2, 28, 28, 3)"),
    _keras("ConvLSTM1D", {"filters": 2, "kernel_size": 3}, ["2,4,6,3"],
           "ConvLSTM1D(filters, kernel_size)(x)  # (samples, time, rows, channels)"),
    _keras("Identity", {}, ["3,7"], "keras.layers.Identity()(x)"),
    _keras("AlphaDropout", {"rate": 0.2}, ["3,7"], "AlphaDropout(rate=0.2)(x, training=True)"),
    _keras("GaussianNoise", {"stddev": 0.1}, ["3,7"], "GaussianNoise(stddev=0.1)(x, training=True)"),
    _keras("ActivityRegularization", {"l1": 0.01, "l2": 0.01}, ["3,7"],
           "ActivityRegularization(l1=0.01, l2=0.01)(x)"),
    _keras("Conv1DTranspose", {"filters": 4, "kernel_size": 3}, ["2,10,3"],
           "Conv1DTranspose(32, 3, 2, activation='relu')(np.random.rand(4, 10, 128))"),
    _keras("Discretization", {"bin_boundaries": [0.0, 1.0, 2.0]}, ["2,4@-2..3"],
           "Discretization(bin_boundaries=[0., 1., 2.])(np.array([[-1.5, 1.0, 3.4, .5], [0.0, 3.0, 1.3, 0.0]]))"),
    _keras("HashedCrossing", {"num_bins": 5}, ["5:int32@100..104", "5:int32@100..104"],
           "HashedCrossing(num_bins=5)((feat1, feat2))  # two scalar features of 5 samples",
           traits={"not_xla_compatible": _NO_XLA_KERNEL.format("SparseCross")},
           expected_failures={"check_accepts_base_kwargs": _FINDINGS + "keras-hashedcrossing"}),
    _keras("RepeatVector", {"n": 3}, ["3,7"], "RepeatVector(3)(x)  # (None, 32) -> (None, 3, 32)"),
    _keras("TimeDistributed", {"layer": _serialized("Dense", units=4)}, ["2,5,3"],
           "TimeDistributed(Dense(8))(inputs)  # inputs (None, 10, 16)",
           expected_failures={check: _FINDINGS + "keras-timedistributed"
                              for check in ("check_symbolic_unknown_length", "check_quantized_outputs_close")}),
    _keras("SpatialDropout1D", {"rate": 0.3}, ["2,5,3"], "SpatialDropout1D(0.3)(x)"),
    _keras("GaussianDropout", {"rate": 0.3}, ["3,7"], "GaussianDropout(rate=0.3)(x, training=True)"),
    _keras("Resizing", {"height": 4, "width": 4}, ["2,8,8,3:int32@0..256"],
           "resizer = keras.layers.Resizing(128, 128); resizer(image)  # a uint8 CIFAR-10 image",
           expected_failures={check: _FINDINGS + "keras-resizing"
                              for check in ("check_graph_matches_eager", "check_xla_matches_eager")}),
    _keras("CenterCrop", {"height": 4, "width": 4}, ["2,8,8,3"], "CenterCrop(height, width)(images)"),
    _keras("RandomFlip", {"mode": "horizontal", "seed": 7}, ["2,8,8,3@0..255"],
           "RandomFlip(...)(images)  # images: np.random.randint(0, 255, (4, 224, 224, 3))",
           traits={"training_by_default": "an augmentation layer: call(data, training=True) makes a "
                                          "plain layer(x) flip by design; fit and predict pass training"}),
    _keras("Rescaling", {"scale": 1 / 255}, ["2,8,8,3@0..255"], "Rescaling(scale=1./255)(images)"),
    _keras("Normalization", {"mean": 2.0, "variance": 4.0}, ["3,7"],
           "Normalization(mean=..., variance=...)(input_data)  # statistics given instead of adapt()"),
    _keras("AdaptiveAveragePooling2D", {"output_size": 4}, ["2,8,8,3"],
           "AdaptiveAveragePooling2D(output_size=32)(np.random.rand(1, 64, 64, 3))"),
]


def retrieval_candidates():
    """BruteForceRetrieval's candidates: ten 8-wide embeddings, the same on every call, in the
    variable dtype of the policy in force (as a model under that policy would hold them)."""
    import numpy as np

    from keras_compat import keras

    dtype = keras.mixed_precision.dtype_policy().variable_dtype
    return {"candidate_embeddings": np.random.default_rng(0).normal(size=(10, 8)).astype(dtype)}


def all_targets():
    return KERAS_HUB + KERAS_RS + KERAS


def missing_library(target):
    """Why ``target`` cannot run here (its library is not installed or lacks the class), or None."""
    module_name, _, class_name = target.import_path.partition(":")
    try:
        module = importlib.import_module(module_name.replace("keras.", _keras_module() + ".", 1)
                                         if target.library == "keras" else module_name)
    except ImportError as exc:
        return f"{target.library} is not installed ({exc})"
    if not hasattr(module, class_name):
        return f"{module_name} has no {class_name} in this version"
    return None


def _keras_module():
    from keras_compat import keras

    return keras.__name__


def spec(target, tier="fast"):
    """The :class:`~conformance.spec.CheckSpec` of ``target``."""
    from conformance.spec import CheckSpec

    module_name, _, class_name = target.import_path.partition(":")
    if target.library == "keras":
        module_name = module_name.replace("keras", _keras_module(), 1)
    cls = getattr(importlib.import_module(module_name), class_name)
    return CheckSpec(
        cls=cls, kwargs=dict(target.kwargs), inputs=list(target.inputs),
        call_kwargs=target.call_kwargs, traits=frozenset(target.traits),
        expected_failures=dict(target.expected_failures), tier=tier,
        label=target.label, import_path=f"{module_name}:{class_name}", **target.spec_fields,
    )


def by_label():
    return {target.label: target for target in all_targets()}
