"""Gradients: every trainable weight is reached by backpropagation, correctly, and trained."""

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import changed, projection_loss, values
from conformance.outcomes import NotApplicable, expect
from conformance.checks._precision import (built_in_float64, loss_magnitude, loss_of,
                                           source_precisions, unit_roundoff)
from conformance.checks._weights import (jitter, other_call_modes, output_depends_on,
                                         redraw_degenerate)
from conformance.wrapping import fit_one_step

def _trainable_or_skip(layer):
    weights = list(layer.trainable_weights)
    if not weights:
        raise NotApplicable("the layer has no trainable weights")
    return weights


def _paths(variables, indices):
    return [compat.variable_path(variables[i]) for i in indices]


_NO_GRADIENT = "no gradient (disconnected)"
_ZERO_GRADIENT = "an all-zero gradient"


def _gradient_problems(spec, layer, inputs, weights, training):
    """{weight index: what is wrong with its gradient} for a projection loss of the outputs."""
    with tf.GradientTape() as tape:
        loss = projection_loss(spec.call(layer, inputs, training=training), seed=2)
    problems = {}
    for index, grad in enumerate(tape.gradient(loss, weights)):
        if grad is None:
            problems[index] = _NO_GRADIENT
            continue
        grad = np.asarray(tf.convert_to_tensor(grad))
        if not np.all(np.isfinite(grad)):
            problems[index] = "a non-finite gradient"
        elif not np.any(grad):
            problems[index] = _ZERO_GRADIENT
    return problems


def _without_gradient(spec, layer, inputs, weights, training):
    """``(unreached, zero)``: indices of the weights no gradient reaches in this call mode
    (None from the tape), and of those whose gradient is all zero."""
    problems = _gradient_problems(spec, layer, inputs, weights, training)
    return ({i for i, why in problems.items() if why == _NO_GRADIENT},
            {i for i, why in problems.items() if why == _ZERO_GRADIENT})


def _unused_in_this_call(spec, layer, inputs, weights, indices):
    """``(unused, depended)``: of the weights at ``indices`` (no gradient, or an all-zero
    one), those the output does not depend on (moving them well away changes no output, in
    inference or in training), and those it does depend on."""
    unused, depended = set(), set()
    for index in sorted(indices):
        moves = any(
            output_depends_on(lambda: _seeded_call(spec, layer, inputs, training), weights[index],
                              seed=40 + index)
            for training in (False, True))
        (depended if moves else unused).add(index)
    return unused, depended


def _seeded_call(spec, layer, inputs, training):
    compat.keras.utils.set_random_seed(7)  # the same noise in each call of a random layer
    return spec.call(layer, inputs, training=training)


def _mode_text(spec):
    return f"call(inputs: {spec.inputs.describe()})"


def _judge_unreached(spec, layer, inputs, weights, indices, zero_gradient=frozenset()):
    """Failures ``{index: why}`` among weights no gradient reaches (``indices``) or whose
    gradient is all zero (``zero_gradient``), and the set of those that this call mode does
    not use while another mode might (not a failure). A weight selected by the values of an
    input (an embedding row for a label this call never has) is connected to the output but
    unused: moving it changes nothing, as for a disconnected one."""
    unused, depended = _unused_in_this_call(spec, layer, inputs, weights,
                                            set(indices) | set(zero_gradient))
    # The output follows a weight no gradient reaches: the gradient is cut (tf.stop_gradient,
    # a NumPy round trip); one whose gradient is zero: the gradient is wrong or dead.
    failures = {i: _ZERO_GRADIENT if i in zero_gradient else
                   "the output depends on it (moving it changes the output) but no gradient "
                   "reaches it" for i in depended}
    modes = other_call_modes(spec)
    if unused and (not modes or len(unused) + len(depended) == len(weights)):
        why = ("not used by this call, and call() has no other argument that could use it"
               if not modes else
               f"not used by this call ({_mode_text(spec)}), nor is any other weight")
        failures.update({i: why for i in unused})
        unused = set()
    return failures, unused


def _fresh_layer(spec, attempt):
    """A new built instance for ``attempt``: the first as initialised, the later ones
    with other seeds and degenerate weights (all-equal values) re-drawn."""
    compat.keras.utils.set_random_seed(attempt)
    layer = spec.built()
    weights = _trainable_or_skip(layer)
    if attempt:
        redraw_degenerate(weights, seed=100 + attempt)
    return layer, weights


_ATTEMPTS = 4
_UNUSED_HINT = ("a weight that is never used in call(), or used behind tf.stop_gradient or "
                "through a NumPy copy, is never trained; a weight used only in another call mode "
                "(an optional argument) is checked when the target is called in that mode "
                "(--call-kwargs, or an input for that argument)")


@contract("gradients", skipped_by=("inference_only",))
def check_gradients_nonzero(spec):
    """Every trainable weight this call uses gets a finite, non-zero gradient from a loss on the inference outputs (or, failing that, the training outputs)."""
    # A correct narrow ReLU layer can be dead for a whole batch with one initialisation, and
    # a gate initialised to exactly 0 (ReZero) zeroes the gradient of everything behind it,
    # so a weight fails only if it has no usable gradient in the first initialisation and in
    # a few fresh ones with degenerate weights re-drawn.
    problems, weights, layer, inputs = None, None, None, None
    for attempt in range(_ATTEMPTS):
        layer, weights = _fresh_layer(spec, attempt)
        inputs = spec.example_tensors(seed=1 + attempt)
        found = _gradient_problems(spec, layer, inputs, weights, training=False)
        if found:  # a weight may legitimately act in training only (a learned noise scale)
            in_training = _gradient_problems(spec, layer, inputs, weights, training=True)
            found = {i: why for i, why in found.items() if i in in_training}
        problems = found if problems is None else {i: w for i, w in problems.items() if i in found}
        if not problems:
            break
    unreached = {i for i, why in problems.items() if why == _NO_GRADIENT}
    zero = {i for i, why in problems.items() if why == _ZERO_GRADIENT}
    failures = {i: why for i, why in problems.items() if why not in (_NO_GRADIENT, _ZERO_GRADIENT)}
    if unreached or zero:
        more, _ = _judge_unreached(spec, layer, inputs, weights, unreached, zero)
        failures.update(more)
    expect(not failures,
           f"a finite, non-zero gradient for each of the {len(weights)} trainable weights "
           "this call uses",
           lambda: "; ".join(f"{compat.variable_path(weights[i])}: {why}" for i, why in sorted(failures.items()))
           + f" (in each of {_ATTEMPTS} initialisations, degenerate weights re-drawn in the later ones)",
           hint=_UNUSED_HINT)


# -- finite differences ---------------------------------------------------------------------

#: Central differences, by the precision a source's path computes at under a float64
#: policy: the step, and the largest relative disagreement tolerated (the median over the
#: directions), before the allowance for rounding (see :func:`_rounding_allowance`).
_FD_SETTINGS = {"float64": (1e-6, 1e-5), "float32": (3e-3, 1e-2), "float16": (1e-1, 1e-1)}
_FD_DIRECTIONS = 3
#: A direction whose forward and backward one-sided slopes disagree by this many times the
#: tolerance crosses a kink (a ReLU at 0): another direction is drawn, at most this often.
_KINK_FACTOR = 10
_KINK_REDRAWS = 4
#: Rounding of a loss of magnitude S (the sum of the absolute terms it adds up) at unit
#: roundoff u is at most about u * S; over a step eps that is u * S / eps in a difference.
_ROUNDING_SAFETY = 4


def _unit_directions(shapes, rng):
    """Random arrays of the given shapes, jointly of unit norm (so a step of eps moves the
    whole parameter vector by eps, however many parameters there are: few ReLU kinks crossed)."""
    directions = [rng.standard_normal(tuple(shape)) for shape in shapes]
    norm = np.sqrt(sum(float(np.sum(d * d)) for d in directions))
    return [d / norm for d in directions]


def _relative_error(autodiff, numeric, grad_norm, slack):
    """|autodiff - numeric| relative to the larger of the two, floored at 1% of the gradient's
    norm (the largest a unit direction can give) so a near-orthogonal direction is no alarm,
    plus ``slack`` (the rounding allowance over the tolerance)."""
    return abs(autodiff - numeric) / (max(abs(autodiff), abs(numeric)) + 1e-2 * grad_norm + slack + 1e-12)


def _median_error(grads, loss_at, rng, eps, tolerance, allowance):
    """(median relative error, autodiff, numeric) over random unit directions: ``grads`` are
    the autodiff gradients, ``loss_at(steps)`` the loss with ``steps`` (arrays shaped like
    ``grads``) added to the point they were taken at. A direction along which the one-sided
    slopes disagree (a kink between the two points) is replaced by another."""
    grad_norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    slack = allowance / tolerance
    centre = loss_at([np.zeros_like(g) for g in grads])
    errors = []
    for _ in range(_FD_DIRECTIONS):
        for _redraw in range(_KINK_REDRAWS + 1):
            directions = _unit_directions([g.shape for g in grads], rng)
            autodiff = sum(float(np.sum(g * d)) for g, d in zip(grads, directions))
            forward = loss_at([eps * d for d in directions])
            backward = loss_at([-eps * d for d in directions])
            numeric = (forward - backward) / (2 * eps)
            error = _relative_error(autodiff, numeric, grad_norm, slack)
            ahead, behind = (forward - centre) / eps, (centre - backward) / eps
            at_kink = abs(ahead - behind) > (_KINK_FACTOR * tolerance * (abs(ahead) + abs(behind))
                                             + 4 * allowance)
            if error <= tolerance or not at_kink:
                break
        errors.append((error, autodiff, numeric))
    return sorted(errors)[len(errors) // 2]


def _dense_gradients(grads, sources):
    return [np.zeros(tuple(s.shape)) if g is None else np.asarray(tf.convert_to_tensor(g), "float64")
            for g, s in zip(grads, sources)]


def _weights_error(spec, layer, inputs, weights, rng, eps, tolerance, allowance):
    """Finite differences along random directions in the space of the trainable weights."""
    with tf.GradientTape() as tape:
        loss = loss_of(spec, layer, inputs)
    grads = _dense_gradients(tape.gradient(loss, weights), weights)
    originals = values(weights)

    def loss_at(steps):
        for weight, original, step in zip(weights, originals, steps):
            weight.assign(original + step)
        return float(loss_of(spec, layer, inputs))

    try:
        return _median_error(grads, loss_at, rng, eps, tolerance, allowance)
    finally:
        for weight, original in zip(weights, originals):
            weight.assign(original)


def _inputs_error(spec, layer, inputs, keys, rng, eps, tolerance, allowance):
    """Finite differences along random directions in the space of the floating-point inputs
    ``keys`` (integer ids and masks are held fixed)."""
    with tf.GradientTape() as tape:
        for key in keys:
            tape.watch(inputs[key])
        loss = loss_of(spec, layer, inputs)
    grads = _dense_gradients(tape.gradient(loss, [inputs[key] for key in keys]), [inputs[k] for k in keys])

    def loss_at(steps):
        moved = dict(inputs)
        for key, step in zip(keys, steps):
            moved[key] = inputs[key] + tf.constant(step, dtype=inputs[key].dtype)
        return float(loss_of(spec, layer, moved))

    return _median_error(grads, loss_at, rng, eps, tolerance, allowance)


def _rounding_allowance(magnitude, precision, eps):
    return _ROUNDING_SAFETY * unit_roundoff(precision) * magnitude / eps


def _compare(spec, layer, inputs, weights, keys, precision, magnitude, seed):
    """(median relative error, autodiff, numeric) for the sources given, at ``precision``."""
    eps, tolerance = _FD_SETTINGS[precision]
    allowance = _rounding_allowance(magnitude, precision, eps)
    rng = np.random.default_rng(seed)
    if weights:
        return _weights_error(spec, layer, inputs, weights, rng, eps, tolerance, allowance)
    return _inputs_error(spec, layer, inputs, keys, rng, eps, tolerance, allowance)


def _finite_difference_parts(spec, layer, inputs, weights):
    """``[(what, precision, (median relative error, autodiff, numeric))]``: the weights,
    then the float inputs, compared at float64; a group that disagrees there is split by
    the precision each source's own path computes at, and each part compared at its own."""
    magnitude = loss_magnitude(spec, layer, inputs)
    groups = []
    if weights:
        groups.append(("weights", weights, [], 3))
    if spec.inputs.float_keys:
        groups.append(("inputs", [], list(spec.inputs.float_keys), 4))
    parts = []
    for what, group_weights, group_keys, seed in groups:
        result = _compare(spec, layer, inputs, group_weights, group_keys, "float64", magnitude, seed)
        if result[0] <= _FD_SETTINGS["float64"][1]:
            parts.append((what, "float64", result))
            continue
        # Only a disagreement makes the precision each source's path computes at worth measuring.
        precisions = source_precisions(spec, layer, inputs, group_weights, group_keys)
        if set(precisions.values()) == {"float64"}:
            parts.append((what, "float64", result))
            continue
        for precision in ("float64", "float32", "float16"):
            sub_weights = [w for w in group_weights if precisions[("weight", id(w))] == precision]
            sub_keys = [k for k in group_keys if precisions[("input", k)] == precision]
            if not sub_weights and not sub_keys:
                continue
            names = ([compat.variable_path(w) for w in sub_weights] if sub_weights
                     else [repr(k) for k in sub_keys])
            label = f"{what} {', '.join(names)}" if len(names) < len(group_weights or group_keys) else what
            parts.append((label, precision,
                          _compare(spec, layer, inputs, sub_weights, sub_keys, precision, magnitude, seed)))
    return parts


#: Two calls at the same point may differ by this much relative to the loss's magnitude
#: (reductions in another order on an accelerator), no more.
_REPEAT_TOLERANCE = 1e-6


def _expect_fixed_function(spec, layer, inputs):
    """Finite differences compare calls at nearby points: a layer whose inference output
    changes from one call to the next at the same point (a state it updates, a Python
    counter, noise) has no fixed function for them to differentiate."""
    first, second = float(loss_of(spec, layer, inputs)), float(loss_of(spec, layer, inputs))
    magnitude = loss_magnitude(spec, layer, inputs)
    same = first == second or (np.isnan(first) and np.isnan(second)) or (
        abs(first - second) <= _REPEAT_TOLERANCE * magnitude)
    expect(same,
           "the same inference loss from two calls at the same inputs and weights, a fixed "
           "function for finite differences to differentiate",
           f"a projection loss of {first:.9g}, then {second:.9g}",
           hint="inference must not update state or draw noise; declare stateful_inference or "
                "stochastic_inference if it does by design")


@contract("gradients", skipped_by=("inference_only", "no_float64", "stochastic_inference", "stateful_inference"))
def check_gradients_match_finite_differences(spec):
    """Gradients computed by autodiff agree with central finite differences, for the weights and the floating-point inputs, at the precision the layer computes in under a float64 policy."""
    layer, inputs = built_in_float64(spec)
    weights = list(layer.trainable_weights)
    if not weights and not spec.inputs.float_keys:
        raise NotApplicable("no trainable weight and no floating-point input to differentiate")
    jitter(weights, seed=5)  # off the exact zeros a ReLU after a zero-initialised bias sits on
    _expect_fixed_function(spec, layer, inputs)
    for what, precision, (error, autodiff, numeric) in _finite_difference_parts(spec, layer, inputs, weights):
        eps, tolerance = _FD_SETTINGS[precision]
        limit = "" if precision == "float64" else (
            f"; compared at {precision} precision, a step of {eps:g}: the layer computes in {precision} "
            "inside under the float64 policy (check_float64_policy reports that)")
        expect(error <= tolerance,
               f"the gradient with respect to the {what} to match finite differences "
               f"(relative error <= {tolerance:g}, beyond rounding{limit})",
               f"directional derivative {autodiff:.6g} by autodiff against {numeric:.6g} by finite "
               f"differences (median relative error {error:.2g} over {_FD_DIRECTIONS} directions, at "
               f"weights moved off exact zeros; a direction crossing a kink redrawn up to "
               f"{_KINK_REDRAWS} times)",
               hint="a tf.custom_gradient or a hand-written gradient is wrong")


# -- training with fit -----------------------------------------------------------------------

def _resolution_probe():
    """An optimizer whose first step moves every weight with a non-zero gradient by about
    1, however small the gradient (Adam's first step is lr * g / (|g| + epsilon)): a weight
    one SGD step left unchanged that this step moves had an update below its dtype's
    resolution (a 0.02-std weight, a timescale of 1e4), not a missing one."""
    return compat.keras.optimizers.Adam(learning_rate=1.0, epsilon=1e-30)


def _unchanged_after_fit(spec, attempt, optimizer=None):
    layer, weights = _fresh_layer(spec, attempt)
    before = values(weights)
    fit_one_step(spec, layer, learning_rate=0.1, optimizer=optimizer)
    return weights, set(range(len(weights))) - set(changed(before, values(weights)))


@contract("gradients", skipped_by=("inference_only",))
def check_fit_updates_trainable_weights(spec):
    """One ``fit`` step on a mean-squared-error loss changes every trainable weight this call uses (at the resolution of its dtype)."""
    unchanged, weights = None, None
    for attempt in range(_ATTEMPTS):  # as above: a dead ReLU or a zero gate is a matter of the draw
        weights, still = _unchanged_after_fit(spec, attempt)
        unchanged = still if unchanged is None else unchanged & still
        if not unchanged:
            return
    weights, still = _unchanged_after_fit(spec, _ATTEMPTS - 1, _resolution_probe())
    unchanged &= still
    if unchanged:
        layer, weights = _fresh_layer(spec, _ATTEMPTS - 1)
        inputs = spec.example_tensors(seed=1)
        unreached, zero = _without_gradient(spec, layer, inputs, weights, training=True)
        _, unused = _judge_unreached(spec, layer, inputs, weights, unchanged & unreached, unchanged & zero)
        unchanged -= unused
    expect(not unchanged, f"each of the {len(weights)} trainable weights this call uses to change",
           lambda: f"unchanged after one fit step, in each of {_ATTEMPTS} initialisations (degenerate "
                   f"weights re-drawn in the later ones) and after an Adam step of about 1 "
                   f"(a step below float resolution is no failure): {_paths(weights, sorted(unchanged))}",
           hint="the call must use the trainable variable itself, not a constant copy of it; "
                + _UNUSED_HINT)


@contract("gradients", skipped_by=("inference_only",))
def check_trainable_false_freezes(spec):
    """After ``layer.trainable = False``, a ``fit`` step changes none of the layer's weights, trainable or not."""
    layer = spec.built()
    weights = list(layer.weights)
    if not weights:
        raise NotApplicable("the layer has no weights")
    layer.trainable = False
    before = values(weights)
    fit_one_step(spec, layer)
    moved = changed(before, values(weights))
    expect(not moved, f"none of the {len(weights)} weights to change",
           lambda: f"changed after one fit step with trainable=False: {_paths(weights, moved)}",
           hint="trainable_weights must be empty when trainable is False, and state updates "
                "in training mode must respect self.trainable")
