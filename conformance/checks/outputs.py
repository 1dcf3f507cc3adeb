"""Outputs: a call returns tensors, and finite inputs in the declared domain give finite outputs.

Every other family relies on these contracts: when the example call returns something
other than tensors, or non-finite values, the runner reports those failures here and
skips the rest, saying why (nothing compares equal to NaN). ``None`` inside a structure
of outputs is allowed (an optional output, such as a cache, not computed in this call).
"""

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import describe_failure, run_step
from conformance.outcomes import ContractViolation, NotApplicable, expect
from conformance.tensors import as_arrays, non_finite, undefined_outputs
from keras_compat import keras

_DOMAIN_HINT = ("if the layer is defined on part of the real line only, declare the input "
                "domain (--input SHAPE@LOW..HIGH); otherwise guard the computation "
                "(an epsilon under a division or a log, a stable softmax)")


def _mode(training):
    return "training" if training else "inference"


def _modes(spec):
    """Inference, and training unless the target declares its call inference only."""
    return (False,) if spec.has_trait("inference_only") else (False, True)


def integer_ids_hint(spec, layer):
    """What to declare when float inputs reach an embedding lookup (its ids then fall
    outside the table), or None when the target (``layer``, None if not made) has no
    embedding-like sublayer or no float input."""
    if layer is None:
        return None
    lookups = [sub for sub in [layer] + compat.sublayers(layer)
               if isinstance(sub, keras.layers.Embedding) or "embedding" in type(sub).__name__.lower()]
    floats = [key for key, tensor_spec in spec.inputs if tensor_spec.is_float]
    if not lookups or not floats:
        return None
    size = getattr(lookups[0], "input_dim", None) or "N"
    shape = ",".join(str(d) for d in spec.inputs.spec_of(floats[0]).shape)
    return (f"{type(lookups[0]).__name__} looks up integer ids, and input {floats[0]} is float: "
            f"declare integer ids (--input {shape}:int32@0..{size})")


def _call(spec, layer, values, training, label):
    """The call, its failure turned into a violation with the embedding hint when that is
    the likely cause (an id out of range raises on CPU)."""
    try:
        return spec.call(layer, values, training=training)
    except Exception as exc:  # noqa: BLE001 - re-raised unless float ids explain it
        hint = integer_ids_hint(spec, layer)
        if hint is None:
            raise
        raise ContractViolation(f"a call on {label} ({spec.example_shape_text()}) in "
                                f"{_mode(training)} to work", describe_failure(exc), hint=hint) from exc


@contract("outputs")
def check_call_returns_tensors(spec):
    """``call`` returns a tensor or a structure (list, tuple, dict) of tensors, in inference and in training, never None or a Python value."""
    layer = spec.built()
    for training in _modes(spec):
        outputs = spec.call(layer, spec.draw(seed=1), training=training)
        problem = undefined_outputs(outputs)
        expect(problem is None,
               f"a tensor or a structure of tensors from the {_mode(training)} call", problem,
               hint="every path through call() must end in `return outputs`")


def _draws(spec):
    yield "standard-normal inputs", spec.draw(seed=1)
    yield "inputs scaled by 1e-3", spec.draw(seed=2, scale=1e-3)
    yield "inputs scaled by 1e3", spec.draw(seed=3, scale=1e3)


@contract("outputs", skipped_by=("non_finite_outputs",))
def check_outputs_finite(spec):
    """Finite inputs drawn from the declared domain give finite outputs, in inference and in training, at ordinary, small and large magnitudes."""
    layer = spec.new()
    _call(spec, layer, spec.draw(seed=0), False, "the example inputs")  # builds it
    for label, values in _draws(spec):
        for training in _modes(spec):
            outputs = _call(spec, layer, values, training, label)
            problem = undefined_outputs(outputs)
            if problem:
                raise NotApplicable(f"the call returned {problem}; check_call_returns_tensors reports it")
            bad = non_finite(as_arrays(outputs))
            expect(not bad, "finite outputs from finite inputs in the declared domain",
                   f"{bad} for {label} ({spec.example_shape_text()}) in {_mode(training)}",
                   hint=integer_ids_hint(spec, layer) or _DOMAIN_HINT)


def _describe_edges(spec):
    parts = []
    for key, tensor_spec in spec.inputs:
        if tensor_spec.is_int:
            parts.append(f"{key}: ids {tensor_spec.low} to {tensor_spec.high - 1}")
        elif tensor_spec.is_float:
            low, high = tensor_spec.low, tensor_spec.high
            parts.append(f"{key}: zeros" if low is None and high is None
                         else f"{key}: values next to the bounds {low}..{high}")
    return "; ".join(parts) or "whole masks"


@contract("outputs")
def check_input_domain_accepted(spec):
    """The layer accepts inputs anywhere in their declared domain (the first and last integer id, floats next to the bounds, zeros for unbounded floats) and gives finite outputs."""
    layer = spec.built()
    edges = _describe_edges(spec)
    values = spec.inputs.edge_values()
    try:
        outputs = run_step(f"a call on inputs at the edges of their domain ({edges}) to work",
                           lambda: spec.call(layer, values, training=False))
    except ContractViolation as violation:
        violation.hint = violation.hint or integer_ids_hint(spec, layer)
        raise
    problem = undefined_outputs(outputs)
    if problem:
        raise NotApplicable(f"the call returned {problem}; check_call_returns_tensors reports it")
    if spec.has_trait("non_finite_outputs"):
        return
    bad = non_finite(as_arrays(outputs))
    expect(not bad, f"finite outputs at the edges of the input domain ({edges})", bad,
           hint=integer_ids_hint(spec, layer)
           or "ids run from LOW to HIGH - 1: an embedding needs HIGH rows; " + _DOMAIN_HINT)
