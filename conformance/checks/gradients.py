"""Gradients: every trainable weight is reached by backpropagation, correctly, and trained."""

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import changed, projection_loss, values
from conformance.outcomes import NotApplicable, expect
from conformance.checks._precision import built_in_float64, effective_precision, loss_of
from conformance.wrapping import fit_one_step

def _trainable_or_skip(layer):
    weights = list(layer.trainable_weights)
    if not weights:
        raise NotApplicable("the layer has no trainable weights")
    return weights


def _paths(variables, indices):
    return [compat.variable_path(variables[i]) for i in indices]


def _gradient_problems(spec, layer, inputs, weights, training):
    """{weight index: what is wrong with its gradient} for a projection loss of the outputs."""
    with tf.GradientTape() as tape:
        loss = projection_loss(spec.call(layer, inputs, training=training), seed=2)
    problems = {}
    for index, grad in enumerate(tape.gradient(loss, weights)):
        if grad is None:
            problems[index] = "no gradient (disconnected)"
            continue
        grad = np.asarray(tf.convert_to_tensor(grad))
        if not np.all(np.isfinite(grad)):
            problems[index] = "a non-finite gradient"
        elif not np.any(grad):
            problems[index] = "an all-zero gradient"
    return problems


_ATTEMPTS = 3


@contract("gradients")
def check_gradients_nonzero(spec):
    """Every trainable weight gets a finite, non-zero gradient from a loss on the inference outputs (or, failing that, the training outputs)."""
    # A correct narrow ReLU layer can be dead for a whole batch with one initialisation, so
    # a weight fails only if it has no usable gradient in every one of a few fresh draws.
    problems, weights = None, None
    for attempt in range(_ATTEMPTS):
        compat.keras.utils.set_random_seed(attempt)
        layer = spec.built()
        weights = _trainable_or_skip(layer)
        inputs = spec.inputs.as_tensors(spec.draw(seed=1 + attempt))
        found = _gradient_problems(spec, layer, inputs, weights, training=False)
        if found:  # a weight may legitimately act in training only (a learned noise scale)
            in_training = _gradient_problems(spec, layer, inputs, weights, training=True)
            found = {i: why for i, why in found.items() if i in in_training}
        problems = found if problems is None else {i: w for i, w in problems.items() if i in found}
        if not problems:
            break
    expect(not problems,
           f"a finite, non-zero gradient for each of the {len(weights)} trainable weights",
           lambda: "; ".join(f"{compat.variable_path(weights[i])}: {why}" for i, why in sorted(problems.items()))
           + f" (in each of {_ATTEMPTS} fresh initialisations)",
           hint="a weight that is never used in call(), or used behind tf.stop_gradient, is never trained")


# -- finite differences ---------------------------------------------------------------------

#: Central differences, by the precision the layer computes at under a float64 policy: the
#: step, and the largest relative disagreement tolerated (the median over the directions).
_FD_SETTINGS = {"float64": (1e-6, 1e-5), "float32": (3e-3, 1e-2), "float16": (1e-1, 1e-1)}
_FD_DIRECTIONS = 3


def _unit_directions(shapes, rng):
    """Random arrays of the given shapes, jointly of unit norm (so a step of eps moves the
    whole parameter vector by eps, however many parameters there are: few ReLU kinks crossed)."""
    directions = [rng.standard_normal(tuple(shape)) for shape in shapes]
    norm = np.sqrt(sum(float(np.sum(d * d)) for d in directions))
    return [d / norm for d in directions]


def _relative_error(autodiff, numeric, grad_norm):
    """|autodiff - numeric| relative to the larger of the two, floored at 1% of the gradient's
    norm (the largest a unit direction can give) so a near-orthogonal direction is no alarm."""
    return abs(autodiff - numeric) / (max(abs(autodiff), abs(numeric)) + 1e-2 * grad_norm + 1e-12)


def _median_error(grads, loss_at, rng, eps):
    """(median relative error, autodiff, numeric) over random unit directions: ``grads`` are
    the autodiff gradients, ``loss_at(steps)`` the loss with ``steps`` (arrays shaped like
    ``grads``) added to the point they were taken at."""
    grad_norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    errors = []
    for _ in range(_FD_DIRECTIONS):
        directions = _unit_directions([g.shape for g in grads], rng)
        autodiff = sum(float(np.sum(g * d)) for g, d in zip(grads, directions))
        forward = loss_at([eps * d for d in directions])
        backward = loss_at([-eps * d for d in directions])
        numeric = (forward - backward) / (2 * eps)
        errors.append((_relative_error(autodiff, numeric, grad_norm), autodiff, numeric))
    return sorted(errors)[len(errors) // 2]


def _dense_gradients(grads, sources):
    return [np.zeros(tuple(s.shape)) if g is None else np.asarray(tf.convert_to_tensor(g), "float64")
            for g, s in zip(grads, sources)]


def _weights_error(spec, layer, inputs, weights, rng, eps):
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
        return _median_error(grads, loss_at, rng, eps)
    finally:
        for weight, original in zip(weights, originals):
            weight.assign(original)


def _inputs_error(spec, layer, inputs, rng, eps):
    """Finite differences along random directions in the space of the floating-point inputs
    (integer ids and masks are held fixed)."""
    keys = spec.inputs.float_keys
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

    return _median_error(grads, loss_at, rng, eps)


@contract("gradients")
def check_gradients_match_finite_differences(spec):
    """Gradients computed by autodiff agree with central finite differences, for the weights and the floating-point inputs, at the precision the layer computes in under a float64 policy."""
    if spec.has_trait("no_float64"):
        raise NotApplicable("declared no_float64: finite differences need float64")
    for trait in ("stochastic_inference", "stateful_inference"):
        if spec.has_trait(trait):
            raise NotApplicable(f"declared {trait}: the loss is not a fixed function to differentiate")
    layer, inputs = built_in_float64(spec)
    weights = list(layer.trainable_weights)
    if not weights and not spec.inputs.float_keys:
        raise NotApplicable("no trainable weight and no floating-point input to differentiate")
    precision = "float64"
    parts = _finite_difference_errors(spec, layer, inputs, weights, _FD_SETTINGS[precision][0])
    if any(error > _FD_SETTINGS[precision][1] for _, (error, _, _) in parts):
        # Only a disagreement makes the precision the layer computes at worth measuring.
        precision = effective_precision(spec, layer, inputs)
        if precision != "float64":
            parts = _finite_difference_errors(spec, layer, inputs, weights, _FD_SETTINGS[precision][0])
    eps, tolerance = _FD_SETTINGS[precision]
    limit = "" if precision == "float64" else (
        f"; compared at {precision} precision, a step of {eps:g}: the layer computes in {precision} "
        "inside under the float64 policy (check_float64_policy reports that)")
    for what, (error, autodiff, numeric) in parts:
        expect(error <= tolerance,
               f"the gradient with respect to the {what} to match finite differences "
               f"(relative error <= {tolerance:g}{limit})",
               f"directional derivative {autodiff:.6g} by autodiff against {numeric:.6g} by finite "
               f"differences (median relative error {error:.2g} over {_FD_DIRECTIONS} directions)",
               hint="a tf.custom_gradient or a hand-written gradient is wrong")


def _finite_difference_errors(spec, layer, inputs, weights, eps):
    """``[(what, (median relative error, autodiff, numeric))]`` for the weights and the float
    inputs, along the same random directions at every step size."""
    rng = np.random.default_rng(3)
    parts = [("weights", _weights_error(spec, layer, inputs, weights, rng, eps))] if weights else []
    if spec.inputs.float_keys:
        parts.append(("inputs", _inputs_error(spec, layer, inputs, rng, eps)))
    return parts


# -- training with fit -----------------------------------------------------------------------


@contract("gradients")
def check_fit_updates_trainable_weights(spec):
    """One ``fit`` step on a mean-squared-error loss changes every trainable weight."""
    unchanged, weights = None, None
    for attempt in range(_ATTEMPTS):  # as above: a dead ReLU bottleneck is a matter of the draw
        compat.keras.utils.set_random_seed(attempt)
        layer = spec.built()
        weights = _trainable_or_skip(layer)
        before = values(weights)
        fit_one_step(spec, layer)
        still = set(range(len(weights))) - set(changed(before, values(weights)))
        unchanged = still if unchanged is None else unchanged & still
        if not unchanged:
            break
    expect(not unchanged, f"each of the {len(weights)} trainable weights to change",
           lambda: f"unchanged after one fit step, in each of {_ATTEMPTS} fresh initialisations: "
                   f"{_paths(weights, sorted(unchanged))}",
           hint="the call must use the trainable variable itself, not a constant copy of it")


@contract("gradients")
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
