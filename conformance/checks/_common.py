"""Small helpers shared by the check families."""

import numpy as np
import tensorflow as tf

from conformance.outcomes import ContractViolation
from conformance.tensors import as_arrays, flatten, non_finite, undefined_outputs

#: ``training=OMITTED`` calls the target without a ``training`` argument at all.
OMITTED = object()


def values(variables):
    """Current values of ``variables`` as NumPy arrays (copies)."""
    return [np.array(v) for v in variables]


def changed(before, after):
    """Indices of the arrays that differ between two lists of equal length."""
    return [i for i, (a, b) in enumerate(zip(before, after)) if not np.array_equal(a, b)]


def variable_names(variables, indices=None):
    indices = range(len(variables)) if indices is None else indices
    return [variables[i].name for i in indices]


def call(spec, target, values, training=OMITTED):
    """``target`` called on ``values`` as ``spec`` says, in the mode given (or none)."""
    if training is OMITTED:
        return spec.call(target, values)
    return spec.call(target, values, training=training)


def defined_arrays(spec, outputs):
    """``outputs`` as NumPy arrays; a :class:`ContractViolation` when they are not tensors,
    or (unless the target declares ``non_finite_outputs``) not finite."""
    problem = undefined_outputs(outputs)
    if problem:
        raise ContractViolation("call() to return a tensor or a structure (list, tuple, dict) of tensors",
                                problem, hint="every path through call() must return its output")
    arrays = as_arrays(outputs)
    if not spec.has_trait("non_finite_outputs"):
        bad = non_finite(arrays)
        if bad:
            raise ContractViolation("finite outputs from finite inputs", bad,
                                    hint="check_outputs_finite names the inputs that produce them")
    return arrays


def forward(spec, target, values, training=False):
    """The target's outputs on ``values`` as NumPy arrays, checked to be defined and finite."""
    return defined_arrays(spec, call(spec, target, values, training))


def shapes_of(arrays):
    return [tuple(a.shape) for a in as_arrays(arrays)]


def projection_loss(outputs, seed=0):
    """A generic scalar loss: each floating-point output dotted with fixed random weights.

    Unlike a sum of squares it is not symmetric, so no weight has a zero gradient merely
    because positive and negative contributions cancel. Integer and bool outputs carry no
    gradient and are left out.
    """
    rng = np.random.default_rng(seed)
    total = tf.constant(0.0, tf.float64)
    for out in flatten(outputs):
        out = tf.convert_to_tensor(out)
        weights = rng.standard_normal(tuple(out.shape))
        if out.dtype.is_floating:
            total += tf.reduce_sum(tf.cast(out, tf.float64) * weights)
    return total


def describe_shapes(shapes):
    return ", ".join(str(tuple(s)) for s in shapes)


def _wrapped_error(exc):
    """The exception ``exc`` stands for: its explicit cause (``raise ... from``), or the one it
    replaced with ``from None`` (Keras 2 re-raises the user's error that way). An exception
    raised while handling another (a fallback that failed too) is itself the error."""
    inner = exc.__cause__ if exc.__cause__ is not None else (
        exc.__context__ if exc.__suppress_context__ else None)
    if inner is not None and type(inner).__name__.startswith("_"):
        return None  # a framework's private carrier (TensorFlow's _NotOkStatusException)
    return inner


def _root_cause(exc):
    """The innermost exception of a chain (Keras wraps the user's error in its own)."""
    seen = {id(exc)}
    while _wrapped_error(exc) is not None and id(_wrapped_error(exc)) not in seen:
        exc = _wrapped_error(exc)
        seen.add(id(exc))
    return exc


def describe_failure(exc):
    """A one-line account of why user code raised: the innermost exception of a chain, and
    for an error raised inside a traced function, the last line of TensorFlow's message
    (the error itself, after the traced call stack)."""
    from conformance.outcomes import describe_exception

    exc = _root_cause(exc)
    text = str(exc)
    if "in user code:" in text or "Graph execution error" in text:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        lines = [line for line in lines if not line.startswith(("[[", "File "))] or lines
        return f"{type(exc).__name__}: {lines[-1]}"[:300]
    return describe_exception(exc)


def run_step(expected, action, *args):
    """``action(*args)``, turning an exception into a :class:`ContractViolation` of
    ``expected`` (what the contract needed that step to do)."""
    from conformance.outcomes import ContractViolation

    try:
        return action(*args)
    except ContractViolation:
        raise
    except Exception as exc:  # noqa: BLE001 - the target failing this step breaks the contract
        raise ContractViolation(expected, describe_failure(exc)) from exc
