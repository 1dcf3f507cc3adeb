"""Small helpers shared by the check families."""

import numpy as np
import tensorflow as tf

from conformance.outcomes import ContractViolation
from conformance.tensors import as_arrays, batch_axes, flatten, non_finite, select_outputs, \
    undefined_outputs

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


def declared_unbatched(spec, outputs):
    """Positions (in :func:`~conformance.tensors.flatten`'s list) of the outputs the spec
    declares unbatched (``unbatched_outputs``)."""
    names = getattr(spec, "unbatched_outputs", ())
    return select_outputs(outputs, names) if names else []


def output_batch_axes(spec, layer, training=False):
    """For each output of ``layer`` (None outputs left out), the axes that follow the batch
    size: ``(0,)`` for a batched output, ``()`` for one without a batch axis (anchors, a
    relative position table) or a batch-1 broadcast one, ``(0, 1)`` for ``[B, B]`` logits.
    Learnt by calling ``layer`` at two batch sizes; outputs the spec declares unbatched are
    ``()``. Every check that slices or compares outputs by batch uses this."""
    sizes = (spec.batch_size, spec.batch_size + 3)
    shapes, declared = {}, []
    for size in sizes:
        outputs = call(spec, layer, spec.draw(batch_size=size, seed=size), training)
        shapes[size] = [tuple(int(d) for d in leaf.shape) for leaf in flatten(outputs)]
        declared = declared_unbatched(spec, outputs)
    return batch_axes(shapes, spec.batch_size, unbatched=declared)


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
    """A one-line account of why user code raised: the innermost exception of a chain; for
    an error raised inside a traced function, the last line of TensorFlow's message (the
    error itself, after the traced call stack); for an error Keras framed ("Exception
    encountered when calling...", a fenced block, the arguments received), the line that
    says what went wrong (see :func:`conformance.errors.informative_line`)."""
    from conformance.errors import describe_error

    exc = _root_cause(exc)
    text = str(exc)
    if "in user code:" in text or "Graph execution error" in text:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        lines = [line for line in lines if not line.startswith(("[[", "File "))] or lines
        if "Exception encountered when calling" not in text:
            return f"{type(exc).__name__}: {lines[-1]}"[:300]
    return describe_error(exc)


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


#: Training calls compared before a layer is judged deterministic in training, and the least
#: batch they are made on: with one pair on a batch of 2, a drop-path layer at rate 0.5
#: gives equal outputs about half the time; six calls on 8 samples almost never.
_TRAINING_DRAWS = 6
_TRAINING_BATCH = 8


def random_in_training(spec, layer, seed=11):
    """Whether ``layer``'s training-mode output is random (dropout, drop path, noise): the one
    decider of every family. Several training calls on one input of at least
    ``_TRAINING_BATCH`` samples; random if any two differ. One agreeing pair proves nothing."""
    from conformance.tensors import mismatch

    try:
        inputs = spec.draw(batch_size=max(spec.batch_size, _TRAINING_BATCH), seed=seed)
        first = forward(spec, layer, inputs, training=True)
    except ContractViolation:
        raise
    except Exception:  # noqa: BLE001 - a layer tied to its example batch size: use that one
        inputs = spec.draw(seed=seed)
        first = forward(spec, layer, inputs, training=True)
    return any(mismatch(first, forward(spec, layer, inputs, training=True), 0.0)
               for _ in range(_TRAINING_DRAWS - 1))
