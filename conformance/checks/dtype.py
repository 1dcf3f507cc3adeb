"""Dtype policies: the layer computes in the policy's dtype and stores variables in its variable dtype."""

import numpy as np

import keras_compat as compat
from conformance.catalogue import contract
from conformance.outcomes import NotApplicable, expect
from conformance.checks._common import forward
from conformance.checks._precision import effective_precision


def _built_under(policy, spec, input_dtype):
    """A new instance made and called (inference) under the global ``policy``."""
    compat.set_global_policy(policy)
    layer = spec.new()
    inputs = spec.inputs.as_tensors(spec.draw(seed=1), float_dtype=input_dtype)
    outputs = forward(spec, layer, inputs, training=False)
    return layer, outputs, inputs


def _float_output_dtypes(outputs):
    return [str(out.dtype) for out in outputs if np.issubdtype(out.dtype, np.floating)]


def _float_variables(layer):
    """(path, dtype name) of the layer's floating-point variables."""
    found = []
    for variable in layer.weights:
        name = compat.dtype_name(variable.dtype)
        if name.startswith(("float", "bfloat")):
            found.append((compat.variable_path(variable), name))
    return found


@contract("dtype")
def check_mixed_precision(spec):
    """Under the ``mixed_float16`` policy the layer outputs float16 and keeps float32 variables."""
    if spec.has_trait("no_mixed_precision"):
        raise NotApplicable("declared no_mixed_precision")
    layer, outputs, _ = _built_under("mixed_float16", spec, "float32")
    # A sublayer given its own policy (the usual dtype="float32" output layer) may set the
    # output dtype to its compute dtype.
    allowed = {"float16"} | {sub.compute_dtype for sub in compat.sublayers(layer)
                             if sub.dtype_policy.name != "mixed_float16"}
    wrong = [d for d in _float_output_dtypes(outputs) if d not in allowed]
    expect(not wrong, "float16 outputs (the policy's compute dtype) from float32 inputs",
           lambda: f"output dtypes {_float_output_dtypes(outputs)}",
           hint="do not cast to float32 or create float32 weights explicitly; use "
                "self.compute_dtype and add_weight() without a dtype")
    not_32 = [f"{name}: {dtype}" for name, dtype in _float_variables(layer) if dtype != "float32"]
    expect(not not_32, "float32 variables (the policy's variable dtype)",
           lambda: f"variables {not_32}")


@contract("dtype")
def check_float64_policy(spec):
    """Under the ``float64`` policy the layer outputs float64, its variables are float64, and it computes at float64 precision."""
    if spec.has_trait("no_float64"):
        raise NotApplicable("declared no_float64")
    layer, outputs, inputs = _built_under("float64", spec, "float64")
    expect(all(d == "float64" for d in _float_output_dtypes(outputs)),
           "float64 outputs from float64 inputs",
           lambda: f"output dtypes {_float_output_dtypes(outputs)}",
           hint="do not cast to float32 inside call(); use self.compute_dtype")
    not_64 = [f"{name}: {dtype}" for name, dtype in _float_variables(layer) if dtype != "float64"]
    expect(not not_64, "float64 variables",
           lambda: f"variables {not_64}",
           hint="do not hard-code dtype='float32' in add_weight()")
    precision = effective_precision(spec, layer, inputs)
    expect(precision == "float64",
           "a float64 computation: outputs that follow input and weight changes below float32 "
           "resolution, as their gradient predicts",
           f"outputs that move only at {precision} resolution: the layer computes in {precision} inside",
           hint="a cast to float32 inside call() (tf.signal.fft, a custom kernel, tf.cast(x, "
                "'float32')) limits the layer to float32 precision; compute in self.compute_dtype")
