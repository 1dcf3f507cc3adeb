"""The precision a layer really computes at under a float64 policy.

A layer can output float64 and hold float64 weights yet compute in float32 inside (an FFT,
a custom kernel, a cast to float32): its outputs then carry float32 precision only. The
probe moves floating-point inputs and trainable weights (all together, or each on its own:
one float32 path beside float64 ones is found only on its own) by a relative step too small
for a coarser precision and checks that the loss moves, in proportion to the step (the
change over twice the step is twice the change): a computation at that precision does; a
coarser one does not move at all, or jumps by its rounding steps. A source that feeds a
float64 path and a float32 one (a residual around an FFT) follows the fine step through the
float64 path alone: its slope over the fine step then disagrees with its slope over a step
the float32 path can follow. No gradient is used, so a wrong gradient cannot pass for a
precision limit.
"""

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.checks._common import projection_loss, values
from conformance.tensors import flatten

#: (precision, relative step): each step is far above the precision's rounding error and far
#: below the next coarser one's (float32 rounds at ~6e-8, float16 at ~5e-4).
_PROBES = (("float64", 2.0 ** -32), ("float32", 2.0 ** -12))
#: How far the change over twice the step may stray from twice the change over the step.
_AGREEMENT = 0.1
#: The slope over the finest step and over a step the coarser precision follows agree this
#: closely (relative), beyond this many roundings of the loss at the coarser precision, when
#: every path of a source computes at the finest precision: only curvature, of order
#: step**2, and kinks crossed tell them apart.
_SLOPE_AGREEMENT = 1e-3
_MIXED_ROUNDING = 8
#: The slope over the coarser step divided by this is compared too: a kink moves it about
#: this many times less, a float32 path not at all.
_NEAR_FACTOR = 4
#: A step large enough to move the loss of any layer that depends on its sources at all.
_SENSITIVITY_STEP = 2.0 ** -6
#: A loss that moves by less than this, relative to the sum of its absolute terms, over
#: the sensitivity step does not depend on the sources moved (only rounding moved it).
_INDEPENDENT = 1e-9


def built_in_float64(spec, seed=1):
    """(layer, inputs): a new instance made and called (inference) under the float64 policy,
    on inputs whose floating-point values are float64 tensors (ids and masks unchanged)."""
    compat.set_global_policy("float64")
    compat.keras.utils.set_random_seed(seed)  # the same point, so the same numbers, every run
    layer = spec.new()
    inputs = spec.example_tensors(seed=seed, float_dtype="float64")
    spec.call(layer, inputs, training=False)
    return layer, inputs


def _kept_outputs(outputs, excluded):
    """The flat outputs, those at the positions ``excluded`` (outputs kept in float32 by
    design) replaced by zeros, so the others keep their projection weights."""
    flat = flatten(outputs)
    return [tf.zeros_like(out) if position in excluded else out for position, out in enumerate(flat)]


def loss_of(spec, layer, inputs, excluded_outputs=()):
    outputs = spec.call(layer, inputs, training=False)
    return projection_loss(_kept_outputs(outputs, excluded_outputs) if excluded_outputs else outputs, seed=2)


#: Unit roundoff of each precision: the relative rounding error of one operation.
_UNIT_ROUNDOFF = {"float64": 2.0 ** -53, "float32": 2.0 ** -24, "float16": 2.0 ** -11}


def unit_roundoff(precision):
    return _UNIT_ROUNDOFF[precision]


def loss_magnitude(spec, layer, inputs, excluded_outputs=()):
    """The sum of the absolute terms :func:`loss_of` adds up (the same outputs and the same
    projection weights): the scale its rounding error is relative to, however much the
    terms cancel."""
    outputs = _kept_outputs(spec.call(layer, inputs, training=False), excluded_outputs)
    rng = np.random.default_rng(2)  # as projection_loss(seed=2) draws them, output by output
    total = 0.0
    for out in flatten(outputs):
        out = tf.convert_to_tensor(out)
        weights = rng.standard_normal(tuple(out.shape))
        if out.dtype.is_floating:
            total += float(np.sum(np.abs(np.asarray(tf.cast(out, tf.float64)) * weights)))
    return total


def _float_sources(spec, layer, inputs):
    weights = [w for w in layer.trainable_weights if compat.dtype_name(w.dtype).startswith("float")]
    keys = spec.inputs.float_keys
    return weights, keys


def _directions(points):
    """Seeded directions scaled by each value's own magnitude (all-zero sources, such as a
    bias, by 1: a relative step of a zero would move nothing)."""
    directions = []
    for i, point in enumerate(points):
        scale = np.abs(point.astype("float64"))
        if not np.any(scale):
            scale = np.ones_like(scale)
        directions.append(np.random.default_rng(11 + i).standard_normal(point.shape) * scale)
    return directions


def source_precisions(spec, layer, inputs, weights=None, keys=None, excluded_outputs=()):
    """``{("weight", id(weight)) or ("input", key): precision}``: the precision of each
    source's own path to the loss, each probed alone (defaults: every float trainable
    weight and every float input); ``excluded_outputs``: positions of outputs the loss
    leaves out (declared float32 by design)."""
    all_weights, all_keys = _float_sources(spec, layer, inputs)
    weights = all_weights if weights is None else [w for w in weights if any(w is a for a in all_weights)]
    keys = all_keys if keys is None else list(keys)
    magnitude = loss_magnitude(spec, layer, inputs, excluded_outputs)
    found = {("weight", id(w)): effective_precision(spec, layer, inputs, [w], [], magnitude, excluded_outputs)
             for w in weights}
    found.update({("input", k): effective_precision(spec, layer, inputs, [], [k], magnitude, excluded_outputs)
                  for k in keys})
    return found


def effective_precision(spec, layer, inputs, weights=None, keys=None, magnitude=None, excluded_outputs=()):
    """``"float64"``, ``"float32"`` or ``"float16"``: the finest precision whose probe the
    layer's loss follows when ``weights`` and the inputs ``keys`` move (default: every float
    trainable weight and every float input). Nothing to move (no float source, or a loss
    that does not depend on them) counts as float64: nothing shows otherwise. ``magnitude``
    is :func:`loss_magnitude`'s, when the caller has it."""
    all_weights, all_keys = _float_sources(spec, layer, inputs)
    weights = all_weights if weights is None else weights
    keys = all_keys if keys is None else keys
    points = values(weights) + [np.asarray(inputs[key]) for key in keys]
    if not points:
        return "float64"
    directions = _directions(points)

    def loss_moved(step):
        """The loss with every source moved by ``step`` times its own magnitude."""
        for weight, point, direction in zip(weights, points, directions):
            weight.assign(point + step * direction)
        moved = dict(inputs)
        for key, point, direction in zip(keys, points[len(weights):], directions[len(weights):]):
            moved[key] = tf.constant(point + step * direction, dtype=inputs[key].dtype)
        return float(loss_of(spec, layer, moved, excluded_outputs))

    losses = {}

    def loss_at(step):
        if step not in losses:
            losses[step] = loss_moved(step)
        return losses[step]

    def central(step):
        return loss_at(step) - loss_at(-step)

    def follows(step):
        once, twice = central(step), central(2 * step)
        return once != 0.0 and abs(twice - 2 * once) <= _AGREEMENT * abs(2 * once)

    try:
        (finest, finest_step), (coarser, coarser_step) = _PROBES
        if magnitude is None:
            magnitude = loss_magnitude(spec, layer, inputs, excluded_outputs)
        if follows(finest_step):
            # A source can feed a float64 path and a float32 one (FNet: x + FFT(x) in
            # complex64): the fine step follows the float64 path alone, the float32 one
            # rounds it away, so the slope over the fine step misses part of the slope.
            # Kinks (ReLUs near 0) crossed within a step move its slope too, in proportion to
            # the step; the part a float32 path adds is the same over any step it follows.
            fine_slope = central(finest_step) / finest_step
            near_step = coarser_step / _NEAR_FACTOR
            near_slope, coarse_slope = central(near_step) / near_step, central(coarser_step) / coarser_step
            missed = abs(fine_slope - near_slope)
            rounding = _MIXED_ROUNDING * unit_roundoff(coarser) * magnitude / near_step
            if (missed <= _SLOPE_AGREEMENT * abs(near_slope) + rounding
                    or abs(coarse_slope - near_slope) > missed / 2):
                return finest
            return coarser if follows(coarser_step) else "float16"
        if abs(central(_SENSITIVITY_STEP)) <= _INDEPENDENT * magnitude:
            # The loss does not depend on these sources beyond rounding (a key bias, which
            # softmax attention cancels): nothing shows a coarser precision.
            return "float64"
        return coarser if follows(coarser_step) else "float16"
    finally:
        for weight, point in zip(weights, points):
            weight.assign(point)
