"""The precision a layer really computes at under a float64 policy.

A layer can output float64 and hold float64 weights yet compute in float32 inside (an FFT,
a custom kernel, a cast to float32): its outputs then carry float32 precision only. The
probe moves every floating-point input and trainable weight by a relative step too small
for a coarser precision and checks that the loss moves, in proportion to the step (the
change over twice the step is twice the change): a computation at that precision does; a
coarser one does not move at all, or jumps by its rounding steps. No gradient is used, so
a wrong gradient cannot pass for a precision limit.
"""

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.checks._common import projection_loss, values

#: (precision, relative step): each step is far above the precision's rounding error and far
#: below the next coarser one's (float32 rounds at ~6e-8, float16 at ~5e-4).
_PROBES = (("float64", 2.0 ** -32), ("float32", 2.0 ** -12))
#: How far the change over twice the step may stray from twice the change over the step.
_AGREEMENT = 0.1
#: A step large enough to move the loss of any layer that depends on its sources at all.
_SENSITIVITY_STEP = 2.0 ** -6


def built_in_float64(spec, seed=1):
    """(layer, inputs): a new instance made and called (inference) under the float64 policy,
    on inputs whose floating-point values are float64 tensors (ids and masks unchanged)."""
    compat.set_global_policy("float64")
    layer = spec.new()
    inputs = spec.inputs.as_tensors(spec.draw(seed=seed), float_dtype="float64")
    spec.call(layer, inputs, training=False)
    return layer, inputs


def loss_of(spec, layer, inputs):
    return projection_loss(spec.call(layer, inputs, training=False), seed=2)


def _float_sources(spec, layer, inputs):
    weights = [w for w in layer.trainable_weights if compat.dtype_name(w.dtype).startswith("float")]
    keys = spec.inputs.float_keys
    return weights, keys


def effective_precision(spec, layer, inputs):
    """``"float64"``, ``"float32"`` or ``"float16"``: the finest precision whose probe the
    layer's loss follows. A layer with nothing to move (no float input, no float weight, or a
    loss that does not depend on them) counts as float64: nothing shows otherwise."""
    weights, keys = _float_sources(spec, layer, inputs)
    points = values(weights) + [np.asarray(inputs[key]) for key in keys]
    if not points:
        return "float64"
    directions = [np.random.default_rng(11 + i).standard_normal(p.shape) * np.abs(p.astype("float64"))
                  for i, p in enumerate(points)]

    def loss_moved(step):
        """The loss with every source moved by ``step`` times its own magnitude."""
        for weight, point, direction in zip(weights, points, directions):
            weight.assign(point + step * direction)
        moved = dict(inputs)
        for key, point, direction in zip(keys, points[len(weights):], directions[len(weights):]):
            moved[key] = tf.constant(point + step * direction, dtype=inputs[key].dtype)
        return float(loss_of(spec, layer, moved))

    def central(step):
        return loss_moved(step) - loss_moved(-step)

    try:
        if central(_SENSITIVITY_STEP) == 0.0:
            return "float64"  # the loss does not depend on anything movable here
        for precision, step in _PROBES:
            once, twice = central(step), central(2 * step)
            if once != 0.0 and abs(twice - 2 * once) <= _AGREEMENT * abs(2 * once):
                return precision
        return "float16"
    finally:
        for weight, point in zip(weights, points):
            weight.assign(point)
