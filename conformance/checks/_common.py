"""Small helpers shared by the check families."""

import numpy as np
import tensorflow as tf

from conformance.tensors import as_arrays


def values(variables):
    """Current values of ``variables`` as NumPy arrays (copies)."""
    return [np.array(v) for v in variables]


def changed(before, after):
    """Indices of the arrays that differ between two lists of equal length."""
    return [i for i, (a, b) in enumerate(zip(before, after)) if not np.array_equal(a, b)]


def variable_names(variables, indices=None):
    indices = range(len(variables)) if indices is None else indices
    return [variables[i].name for i in indices]


def forward(layer, inputs, training=False):
    """The layer's output(s) as NumPy arrays."""
    return as_arrays(layer(inputs, training=training))


def shapes_of(arrays):
    return [tuple(a.shape) for a in as_arrays(arrays)]


def projection_loss(outputs, seed=0):
    """A generic scalar loss: each output dotted with fixed random weights.

    Unlike a sum of squares it is not symmetric, so no weight has a zero gradient merely
    because positive and negative contributions cancel.
    """
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    rng = np.random.default_rng(seed)
    total = 0.0
    for out in outputs:
        weights = tf.constant(rng.standard_normal(tuple(out.shape)), dtype=out.dtype)
        total += tf.reduce_sum(tf.cast(out * weights, tf.float64))
    return total


def describe_shapes(shapes):
    return ", ".join(str(tuple(s)) for s in shapes)


def _root_cause(exc):
    """The innermost exception of a chain (Keras wraps the user's error in its own)."""
    seen = {id(exc)}
    while (exc.__cause__ or exc.__context__) is not None and id(exc.__cause__ or exc.__context__) not in seen:
        exc = exc.__cause__ or exc.__context__
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
