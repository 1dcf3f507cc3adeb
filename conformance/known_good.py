"""Targets every check must pass: each reference, and each built-in layer the notes name.

They are the checker's guard against false alarms; the test-suite runs the catalogue on
them, and so can a user (``keras-conformance check`` takes the same classes).
"""

import keras_compat as compat
from keras_compat import keras
from conformance.spec import CheckSpec, spec_for_reference

_SEQUENCE = [(2, 5, 3)]
_MASKED_SEQUENCE = ["2,5,3", "mask=2,5:bool"]
_IMAGE = [(2, 8, 8, 3)]
_VECTOR = [(3, 7)]

# (class name, kwargs, inputs) for the built-in layers the course notes name, called as
# they are called in real models.
_BUILTINS = [
    ("Conv1D", {"filters": 4, "kernel_size": 3}, [(2, 10, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, _IMAGE),
    ("Conv3D", {"filters": 2, "kernel_size": 3}, [(2, 6, 6, 6, 2)]),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3}, _IMAGE),
    ("DepthwiseConv2D", {"kernel_size": 3}, _IMAGE),
    ("LSTM", {"units": 4}, _MASKED_SEQUENCE),
    ("GRU", {"units": 4, "return_sequences": True}, _MASKED_SEQUENCE),
    ("MaxPooling2D", {"pool_size": 2}, _IMAGE),
    ("AveragePooling2D", {"pool_size": 2}, _IMAGE),
    ("GlobalAveragePooling2D", {}, _IMAGE),
    ("LeakyReLU", {}, _VECTOR),
    ("PReLU", {}, _VECTOR),
    ("ELU", {}, _VECTOR),
    ("Activation", {"activation": "relu"}, _VECTOR),
    ("Dense", {"units": 4}, _VECTOR),
    ("Dropout", {"rate": 0.5}, _VECTOR),
    ("BatchNormalization", {}, _VECTOR),
    ("Flatten", {}, [(3, 4, 5)]),
    ("Add", {}, [(3, 4), (3, 4)]),
    ("Concatenate", {}, [(3, 4), (3, 5)]),
]

_ATTENTION = {"num_heads": 2, "key_dim": 4}
_SPARSE_DROPPED = ("a Keras 3 defect: CategoryEncoding.get_config() leaves out sparse, so "
                   "from_config rebuilds a sparse=True layer dense")

# (label suffix, class name, kwargs, inputs, other CheckSpec fields) for the layers of
# sequence models: keyword inputs, masks, ids. Declarations carry their justification.
_SEQUENCE_BUILTINS = [
    ("", "MultiHeadAttention", _ATTENTION, ["query=2,5,8", "value=2,5,8"], {}),
    ("[attention_mask]", "MultiHeadAttention", _ATTENTION,
     ["query=2,4,8", "value=2,5,8", "key=2,5,8", "attention_mask=2,4,5:bool"], {}),
    ("[causal]", "MultiHeadAttention", _ATTENTION, ["query=2,5,8", "value=2,5,8"],
     {"call_kwargs": {"use_causal_mask": True}}),
    ("", "Attention", {}, ["2,4,3", "2,5,3", "mask.0=2,4:bool", "mask.1=2,5:bool"], {}),
    ("", "Embedding", {"input_dim": 20, "output_dim": 4, "mask_zero": True}, ["3,6:int32@0..20"], {}),
    ("", "GlobalAveragePooling1D", {}, _MASKED_SEQUENCE, {}),
    ("", "Masking", {}, _SEQUENCE, {}),
    ("", "LayerNormalization", {}, _SEQUENCE, {}),
    # A preprocessing layer: its output dtype is its own `dtype` argument (float32 by
    # default), not the global policy's compute dtype, by design.
    # Keras 3 leaves `sparse` out of its config: a real defect the varied config shows.
    ("", "CategoryEncoding", {"num_tokens": 10, "output_mode": "multi_hot"}, ["3,4:int32@0..10"],
     {"traits": {"no_mixed_precision", "no_float64"},
      "expected_failures": {"check_config_keeps_non_default_kwargs": _SPARSE_DROPPED}
      if compat.CATEGORY_ENCODING_CONFIG_DROPS_SPARSE else {}}),
    # Hashes through tf.strings (AsString), which has no XLA kernel.
    ("", "Hashing", {"num_bins": 5}, ["3,4:int64@0..1000"], {"traits": {"not_xla_compatible"}}),
]

_LAMBDA_SAVE_CHECKS = ("check_keras_save_load", "check_fresh_process_load")


def _builtin(name, kwargs, inputs, suffix="", **fields):
    return CheckSpec(
        cls=getattr(keras.layers, name),
        kwargs=kwargs,
        inputs=inputs,
        label=f"keras.layers:{name}{suffix}",
        import_path=f"{keras.__name__}.layers:{name}",
        **fields,
    )


def _keras_defects(name):
    """``{check id: reason}``: the real Keras defects the checks find in a built-in layer."""
    if name == "BatchNormalization" and compat.BATCH_NORMALIZATION_CONFIG_DROPS_SYNCHRONIZED:
        return {"check_config_keeps_non_default_kwargs": (
            "a Keras 2 defect: BatchNormalization.get_config() leaves out synchronized, so "
            "from_config rebuilds a synchronized=True layer unsynchronized")}
    return {}


def builtin_layer_specs():
    specs = [_builtin(name, kwargs, inputs, expected_failures=_keras_defects(name))
             for name, kwargs, inputs in _BUILTINS]
    specs += [_builtin(name, kwargs, inputs, suffix, **fields)
              for suffix, name, kwargs, inputs, fields in _SEQUENCE_BUILTINS]
    specs.append(_lambda_spec())
    return specs


def _lambda_spec():
    from conformance.references import LAMBDA_IMPORT_PATH, lambda_example_function

    expected = {}
    if compat.LAMBDA_FUNCTIONS_SAVED_AS_BYTECODE:
        reason = "Keras 2 saves a Lambda's function as bytecode, which safe mode refuses"
        expected = {check: reason for check in _LAMBDA_SAVE_CHECKS}
    return CheckSpec(
        cls=keras.layers.Lambda,
        kwargs={"function": lambda_example_function},
        input_shapes=_VECTOR,
        expected_failures=expected,
        traits={"tensorflow_only"},  # the function is the notes' tf.abs
        label="keras.layers:Lambda",
        import_path=LAMBDA_IMPORT_PATH,
    )


def reference_specs():
    from conformance import references

    return [spec_for_reference(name) for name in references.names()]


def all_specs():
    return reference_specs() + builtin_layer_specs()
