"""Graph: the layer computes the same thing traced by tf.function, compiled by XLA, and does
not retrace on every call."""

import re

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.catalogue import contract
from conformance.outcomes import describe_exception, expect
from conformance.checks._common import forward, random_in_training
from conformance.tensors import as_arrays, largest_difference, magnitude, mismatch, same_up_to_order

#: Largest difference tolerated, relative to max(1, largest output magnitude).
_GRAPH_TOLERANCE = 1e-5
_XLA_TOLERANCE = 1e-4  # XLA fuses and reorders float32 arithmetic
#: How far (in units in the last place of their dtype) the float inputs are nudged to
#: measure how the outputs follow rounding-sized changes, and in how many seeded draws:
#: far enough to stay clear of single rounding steps, near enough to stay linear.
_NUDGE_ULPS = 256
_NUDGES = 2
#: A compiled call may differ from the eager one as much as inputs moved by this many ulps
#: move the outputs (the rounding noise of the computation: another order of the same
#: float32 sums differs by a few ulps of its terms, amplified as the inputs' are)...
_NOISE_ULPS = 32
#: ...but never by more than this, relative to the output scale: beyond it, rounding does
#: not explain a difference (and a layer whose outputs jump when its inputs move by a few
#: ulps, a rounding or an argmax, is judged at the fixed tolerance alone).
_NOISE_CAP = 1e-3


def _tensors(spec, seed):
    return spec.example_tensors(seed=seed)


def _nudged(spec, values, seed):
    """``values`` with every float data input (not masks, ids or one-hot rows) moved by
    ``_NUDGE_ULPS`` units in its last place, up or down at random."""
    rng = np.random.default_rng(seed)
    nudged = dict(values)
    for key, declared in spec.inputs:
        value = values[key]
        if declared.is_mask or declared.onehot or not np.issubdtype(value.dtype, np.floating):
            continue
        signs = rng.choice([-1.0, 1.0], size=value.shape)
        step = _NUDGE_ULPS * float(np.finfo(value.dtype).eps)
        moved = value.astype(np.float64) * (1.0 + signs * step)
        outside = np.zeros(value.shape, bool)  # a value the nudge would take out of its domain stays
        if declared.low is not None:
            outside |= moved <= declared.low
        if declared.high is not None:
            outside |= moved >= declared.high
        nudged[key] = np.where(outside, value, moved.astype(value.dtype))
    return nudged


def _rounding_noise(spec, layer, values, eager, training):
    """How far the eager outputs move when the float inputs move by ``_NOISE_ULPS`` ulps
    (measured at ``_NUDGE_ULPS`` and scaled down): the size of the differences that another
    order of the same float32 arithmetic may produce (a softmax of large logits, a
    normalisation of large values amplify them)."""
    moved_by = 0.0
    for seed in range(_NUDGES):
        try:
            moved = forward(spec, layer, spec.inputs.as_tensors(_nudged(spec, values, seed)), training=training)
        except Exception:  # noqa: BLE001 - no measure of the noise: the fixed tolerance alone
            return 0.0
        moved_by = max(moved_by, largest_difference(as_arrays(eager), as_arrays(moved)))
    return moved_by * _NOISE_ULPS / _NUDGE_ULPS


def _within_rounding_noise(spec, layer, values, eager, traced, training):
    """``(allowed difference, rounding noise)`` when the traced outputs differ from the eager
    ones by no more than the computation's own rounding noise allows, else None."""
    scale = magnitude(as_arrays(eager))
    difference = largest_difference(as_arrays(eager), as_arrays(traced))
    noise = _rounding_noise(spec, layer, values, eager, training)
    allowed = min(noise, _NOISE_CAP * scale)
    return (difference, noise) if difference <= allowed else None


def _function_of(spec, layer, training, **function_kwargs):
    """``tf.function`` calling ``layer`` in one mode (a def: AutoGraph cannot parse lambdas
    that share a line)."""

    def call_layer(inputs):
        return spec.call(layer, inputs, training=training)

    return tf.function(call_layer, **function_kwargs)


def _error_summary(exc):
    """The line of a tracing or XLA error that says what went wrong, without the traceback."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    unsupported = re.search(r"unsupported operations.*? on (XLA_\w+): (.+?) \(No registered", text)
    if unsupported:
        return f"{type(exc).__name__}: {unsupported[1]} has no kernel for the op(s) {unsupported[2]}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    keras_header = "Exception encountered when calling"
    inner = [line for line in lines
             if re.match(r"\w+(Error|Exception): ", line) and keras_header not in line]
    if inner:  # Keras 2 quotes the user's error inside an "in user code:" traceback
        return inner[-1]
    for index, line in enumerate(lines[:-1]):
        if keras_header in line:  # Keras 3 puts the user's error on the next line
            return f"{type(exc).__name__}: {lines[index + 1]}"
    return describe_exception(exc)


def _compare_compiled(spec, what, tolerance, hint, **function_kwargs):
    """Compare eager calls with calls of ``tf.function(**function_kwargs)`` wrappers, in
    inference, and in training too when training is not random (see
    :func:`~conformance.checks._common.random_in_training`) and differs from inference
    (batch normalisation; not dropout, nor layers ignoring ``training``)."""
    layer = spec.built()
    values = spec.draw(seed=1)
    inputs = spec.inputs.as_tensors(values)
    notes = []
    modes = [False]
    if not random_in_training(spec, layer) and mismatch(
            forward(spec, layer, inputs, training=True), forward(spec, layer, inputs, training=False), 0.0):
        modes.append(True)  # a training mode of its own, and repeatable: compare it too
    for training in modes:
        label = "training" if training else "inference"
        compiled = _function_of(spec, layer, training, **function_kwargs)
        eager = forward(spec, layer, inputs, training=training)
        try:
            traced = as_arrays(compiled(inputs))
        except Exception as exc:  # noqa: BLE001 - the user's call failed to trace or compile
            expect(False, f"the {label} call to run {what}", _error_summary(exc), hint=hint)
        difference = mismatch(eager, traced, tolerance)
        if difference and same_up_to_order(eager, traced, tolerance):
            # top_k(sorted=False): XLA returns the same pairs in another order
            notes.append(f"the {label} outputs agreed up to their order along the last axis")
            continue
        if difference and not mismatch(eager, traced, np.inf):  # the same structure
            within = _within_rounding_noise(spec, layer, values, eager, traced, training)
            if within is not None:
                notes.append(f"the {label} outputs differed by up to {within[0]:.3g}, within the "
                             f"rounding noise of the computation ({within[1]:.3g}: how far the "
                             f"outputs move when the inputs move by {_NOISE_ULPS} ulps)")
                continue
        expect(not difference, f"{what} to give the eager {label} outputs (within {tolerance:g} x scale, "
               f"or the computation's rounding noise up to {_NOISE_CAP:g} x scale)",
               difference,
               hint="Python-side state or Python values computed from tensors are frozen "
                    "when the call is traced")
    return "; ".join(notes) or None


@contract("graph", skipped_by=("stochastic_inference", "stateful_inference"))
def check_graph_matches_eager(spec):
    """Calling the layer inside ``tf.function`` gives the same outputs as calling it eagerly."""
    return _compare_compiled(spec, "inside tf.function", _GRAPH_TOLERANCE,
                      hint="call() runs on symbolic tensors when traced: no .numpy(), no NumPy "
                           "calls or Python branching on tensor values")


@contract("graph", skipped_by=("not_xla_compatible", "stochastic_inference", "stateful_inference"))
def check_xla_matches_eager(spec):
    """The layer compiles with XLA (``tf.function(jit_compile=True)``) and gives the eager outputs."""
    return _compare_compiled(spec, "under tf.function(jit_compile=True)", _XLA_TOLERANCE,
                      hint="XLA cannot compile tf.numpy_function, tf.py_function or ops without "
                           "an XLA kernel; declare not_xla_compatible if that is by design",
                      jit_compile=True)


@contract("graph")
def check_no_retracing(spec):
    """After the first call, calls on inputs of the same shape trace no new ``tf.function`` graph."""
    layer = spec.built()
    wrapped = _function_of(spec, layer, training=False)
    warm = _tensors(spec, seed=1)
    spec.call(layer, warm, training=True)
    spec.call(layer, warm, training=False)
    wrapped(warm)
    with compat.count_traces() as traces:
        for seed in (2, 3, 4):
            inputs = _tensors(spec, seed=seed)
            spec.call(layer, inputs, training=False)
            spec.call(layer, inputs, training=True)
            wrapped(inputs)
    expect(not traces, "no tracing over three more eager calls in each mode and three calls "
           "of a tf.function wrapping the layer", lambda: f"{len(traces)} traces: "
           f"{sorted(set(traces))[:5]}",
           hint="do not create a tf.function inside call(), nor pass a tf.function a Python "
                "value that changes from call to call")
