"""Targets every check must pass: each reference, and each built-in layer the notes name.

They are the checker's guard against false alarms; the test-suite runs the catalogue on
them, and so can a user (``keras-conformance check`` takes the same classes).
"""

import keras_compat as compat
from keras_compat import keras
from conformance.spec import CheckSpec, spec_for_reference

_SEQUENCE = [(2, 5, 3)]
_IMAGE = [(2, 8, 8, 3)]
_VECTOR = [(3, 7)]

# (class name, kwargs, input shapes) for the built-in layers the course notes name.
_BUILTINS = [
    ("Conv1D", {"filters": 4, "kernel_size": 3}, [(2, 10, 3)]),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, _IMAGE),
    ("Conv3D", {"filters": 2, "kernel_size": 3}, [(2, 6, 6, 6, 2)]),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3}, _IMAGE),
    ("DepthwiseConv2D", {"kernel_size": 3}, _IMAGE),
    ("LSTM", {"units": 4}, _SEQUENCE),
    ("GRU", {"units": 4}, _SEQUENCE),
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

_LAMBDA_SAVE_CHECKS = ("check_keras_save_load", "check_fresh_process_load")


def builtin_layer_specs():
    specs = [
        CheckSpec(
            cls=getattr(keras.layers, name),
            kwargs=kwargs,
            input_shapes=shapes,
            label=f"keras.layers:{name}",
            import_path=f"{keras.__name__}.layers:{name}",
        )
        for name, kwargs, shapes in _BUILTINS
    ]
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
        label="keras.layers:Lambda",
        import_path=LAMBDA_IMPORT_PATH,
    )


def reference_specs():
    from conformance import references

    return [spec_for_reference(name) for name in references.names()]


def all_specs():
    return reference_specs() + builtin_layer_specs()
