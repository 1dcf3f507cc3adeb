"""Dtype policies: the layer computes in the policy's dtype and stores variables in its variable dtype."""

import numpy as np

import keras_compat as compat
from conformance.catalogue import contract
from conformance.outcomes import NotApplicable, expect
from conformance.checks._common import call, defined_arrays
from conformance.tensors import flatten_with_paths, select_outputs
from conformance.checks._precision import source_precisions


def _side_keys(spec):
    """Float inputs that go to another argument than call's first: Keras 2 autocasts only
    the first argument, so in a model these arrive already in the compute dtype, from the
    layers that made them."""
    return [key for key in spec.inputs.float_keys
            if spec.inputs.spec_of(key).argument not in (None, spec.first_call_parameter)]


def _inputs_under(spec, input_dtype, side_dtype=None):
    inputs = spec.example_tensors(seed=1, float_dtype=input_dtype)
    if side_dtype is not None:
        import tensorflow as tf

        for key in _side_keys(spec):
            inputs[key] = tf.cast(inputs[key], side_dtype)
    return inputs


def _built_under(policy, spec, input_dtype, side_dtype=None):
    """``(layer, outputs, inputs)``: a new instance made and called (inference) under the
    global ``policy`` (float inputs of call's first argument in ``input_dtype``, the others
    in ``side_dtype``); ``outputs`` as the call returned them, checked to be finite tensors."""
    compat.set_global_policy(policy)
    compat.keras.utils.set_random_seed(1)
    layer = spec.new()
    if not compat.autocasts_inputs(layer):
        # autocast=False (Embedding): the layer takes its float inputs as they come, so in
        # a model they come in the compute dtype of the layers that made them.
        input_dtype = side_dtype = layer.compute_dtype
    inputs = _inputs_under(spec, input_dtype, side_dtype)
    outputs = call(spec, layer, inputs, training=False)
    defined_arrays(spec, outputs)
    return layer, outputs, inputs


def _float_outputs(outputs):
    """``[(position in the flat list, path, dtype name)]`` of the floating-point outputs."""
    found = []
    for position, (path, leaf) in enumerate(flatten_with_paths(outputs)):
        dtype = compat.dtype_name(leaf.dtype)
        if dtype.startswith(("float", "bfloat")):
            found.append((position, path or str(position), dtype))
    return found


def _float_output_dtypes(outputs):
    return [dtype for _, _, dtype in _float_outputs(outputs)]


def _outputs_not_in(outputs, allowed, declared):
    """``[(path, dtype)]`` of the float outputs whose dtype is not in ``allowed``, a float32
    output at a ``declared`` position excepted."""
    return [(path, dtype) for position, path, dtype in _float_outputs(outputs)
            if dtype not in allowed and not (dtype == "float32" and position in declared)]


def _seen_output_dtypes(outputs, wrong):
    """What a dtype check saw: every float output's dtype, and which were wrong when several."""
    def seen():
        listed = f"output dtypes {_float_output_dtypes(outputs)}"
        if len(_float_outputs(outputs)) < 2:
            return listed
        return f"{listed}; not as expected: {', '.join(f'{p}: {d}' for p, d in wrong)}"
    return seen


def _declared_float32(spec, outputs):
    """Positions of the outputs declared kept in float32 (all of them under the trait)."""
    if spec.has_trait("float32_outputs"):
        return {position for position, _, _ in _float_outputs(outputs)}
    names = getattr(spec, "float32_outputs", None) or ()
    return set(select_outputs(outputs, names)) if names else set()


def _float_variables(layer):
    """(path, dtype name) of the layer's floating-point variables."""
    found = []
    for variable in layer.weights:
        name = compat.dtype_name(variable.dtype)
        if name.startswith(("float", "bfloat")):
            found.append((compat.variable_path(variable), name))
    return found


#: How TensorFlow says an op has no kernel for a dtype on this device: NotFoundError "Could
#: not find device for node ... T=DT_HALF", "No registered 'Op' OpKernel", or an
#: UnimplementedError "No WhereOp available for float16/half type on CPU".
_NO_KERNEL_MARKS = ("Could not find device for node", "No registered", "OpKernel", "available for")
_HALF_MARKS = ("DT_HALF", "float16", "half")


def _missing_half_kernel(exc):
    """The line of TensorFlow's message saying an op has no float16 kernel on this device
    (``Where`` on a CPU), found anywhere in the chain of ``exc``; None if it is not that."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        if any(mark in text for mark in _HALF_MARKS):
            for line in text.splitlines():
                if any(mark in line for mark in _NO_KERNEL_MARKS):
                    return " ".join(line.split())[:240]
        exc = exc.__cause__ or exc.__context__
    return None


@contract("dtype", skipped_by=("no_mixed_precision",))
def check_mixed_precision(spec):
    """Under the ``mixed_float16`` policy the layer runs, outputs float16 (float32 where declared or set by a sublayer's own policy) and keeps float32 variables."""
    try:
        layer, outputs, _ = _built_under("mixed_float16", spec, "float32", side_dtype="float16")
    except Exception as exc:  # noqa: BLE001 - one kind is the device's, not the layer's
        missing = _missing_half_kernel(exc)
        if missing is None:
            raise
        raise NotApplicable("an environment limit, not the layer's: an op it uses has no float16 "
                            f"kernel on this device ({missing}); check it on a device that has one") from exc
    # A sublayer given its own policy (the usual dtype="float32" output layer) may set the
    # output dtype to its compute dtype; a declared float32_outputs layer keeps some float32.
    allowed = {"float16"} | {sub.compute_dtype for sub in compat.sublayers(layer)
                             if sub.dtype_policy.name != "mixed_float16"}
    declared = _declared_float32(spec, outputs)
    wrong = _outputs_not_in(outputs, allowed, declared)
    fed = ("float32 inputs" if compat.autocasts_inputs(layer) else
           "float16 inputs (it sets autocast=False, so it is fed in the compute dtype, as a "
           "model chains it)")
    expect(not wrong, f"float16 outputs (the policy's compute dtype) from {fed}"
           + (f", float32 where declared ({len(declared)} output(s))" if declared else ""),
           _seen_output_dtypes(outputs, wrong),
           hint="do not cast to float32 or create float32 weights explicitly; use "
                "self.compute_dtype and add_weight() without a dtype; a layer that keeps an "
                "output in float32 on purpose (a float32 residual stream, box coordinates) "
                "declares it: --float32-output OUTPUT (one output) or --trait float32_outputs (all)")
    not_32 = [f"{name}: {dtype}" for name, dtype in _float_variables(layer) if dtype != "float32"]
    expect(not not_32, "float32 variables (the policy's variable dtype)",
           lambda: f"variables {not_32}")


def _source_names(layer, spec, sources):
    names = {("weight", id(w)): f"weight {compat.variable_path(w)}" for w in layer.trainable_weights}
    names.update({("input", k): f"input {k!r}" for k in spec.inputs.float_keys})
    return [names[s] for s in sources]


@contract("dtype", skipped_by=("no_float64",))
def check_float64_policy(spec):
    """Under the ``float64`` policy the layer outputs float64 (float32 where declared), its variables are float64, and it computes at float64 precision."""
    layer, outputs, inputs = _built_under("float64", spec, "float64")
    declared = _declared_float32(spec, outputs)
    wrong = _outputs_not_in(outputs, {"float64"}, declared)
    expect(not wrong, "float64 outputs from float64 inputs"
           + (f", float32 allowed where declared ({len(declared)} output(s))" if declared else ""),
           _seen_output_dtypes(outputs, wrong),
           hint="do not cast to float32 inside call(); use self.compute_dtype; an output kept "
                "in float32 by design under every policy (box coordinates) is declared: "
                "--float32-output OUTPUT (one output) or --trait float32_outputs (all)")
    not_64 = [f"{name}: {dtype}" for name, dtype in _float_variables(layer) if dtype != "float64"]
    expect(not not_64, "float64 variables",
           lambda: f"variables {not_64}",
           hint="do not hard-code dtype='float32' in add_weight()")
    # Each input and weight on its own: one float32 path beside float64 ones (an FFT of the
    # inputs, then a float64 projection) is hidden when everything moves together.
    precisions = source_precisions(spec, layer, inputs, excluded_outputs=declared)
    coarse = sorted((p, s) for s, p in precisions.items() if p != "float64")
    seen = "; ".join(
        f"the outputs follow {', '.join(_source_names(layer, spec, [s for q, s in coarse if q == p]))} "
        f"only at {p} resolution"
        for p in sorted({p for p, _ in coarse}))
    expect(not coarse,
           "a float64 computation: outputs that follow each input and weight below float32 "
           "resolution, as their gradient predicts",
           lambda: f"{seen}: the layer computes in {coarse[0][0]} inside (a precision limit)",
           hint="a cast to float32 inside call() (tf.signal.fft, a custom kernel, tf.cast(x, "
                "'float32')) limits the layer to float32 precision; compute in self.compute_dtype, "
                "or, if the float32 computation is by design, declare it: --trait no_float64")
