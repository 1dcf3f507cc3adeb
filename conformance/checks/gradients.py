"""Gradients: every trainable weight is reached by backpropagation, correctly, and trained."""

import warnings

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import changed, projection_loss, values
from conformance.outcomes import NotApplicable, expect
from conformance.tensors import as_arrays
from conformance.wrapping import targets_for

#: Central differences in float64: the step, the number of random directions, and the
#: largest relative disagreement tolerated (the median over the directions must stay below).
_FD_EPS = 1e-6
_FD_DIRECTIONS = 3
_FD_TOLERANCE = 1e-5


def _trainable_or_skip(layer):
    weights = list(layer.trainable_weights)
    if not weights:
        raise NotApplicable("the layer has no trainable weights")
    return weights


def _paths(variables, indices):
    return [compat.variable_path(variables[i]) for i in indices]


def _as_tensors(inputs, dtype="float32"):
    if isinstance(inputs, (list, tuple)):
        return [tf.constant(x, dtype=dtype) for x in inputs]
    return tf.constant(inputs, dtype=dtype)


def _gradient_problems(layer, inputs, weights, training):
    """{weight index: what is wrong with its gradient} for a projection loss of the outputs."""
    with tf.GradientTape() as tape:
        loss = projection_loss(layer(inputs, training=training), seed=2)
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
        inputs = _as_tensors(spec.inputs(seed=1 + attempt))
        found = _gradient_problems(layer, inputs, weights, training=False)
        if found:  # a weight may legitimately act in training only (a learned noise scale)
            in_training = _gradient_problems(layer, inputs, weights, training=True)
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


def _float64_layer(spec):
    """The layer built under a float64 policy, so that its sublayers are float64 too."""
    compat.set_global_policy("float64")
    layer = spec.new()
    inputs = _as_tensors(spec.inputs(seed=1), dtype="float64")
    outputs = as_arrays(layer(inputs, training=False))
    not_64 = [str(o.dtype) for o in outputs if o.dtype != np.float64]
    not_64 += [f"{compat.variable_path(w)}: {compat.dtype_name(w.dtype)}" for w in layer.trainable_weights
               if compat.dtype_name(w.dtype) != "float64"]
    if not_64:
        raise NotApplicable(
            f"the layer does not compute in float64 under a float64 policy ({', '.join(not_64)}); "
            "check_float64_policy reports that")
    return layer, inputs


def _loss(layer, inputs):
    return projection_loss(layer(inputs, training=False), seed=2)


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


def _median_error(grads, loss_at, rng):
    """(median relative error, autodiff, numeric) over random unit directions: ``grads`` are
    the autodiff gradients, ``loss_at(steps)`` the loss with ``steps`` (arrays shaped like
    ``grads``) added to the point they were taken at."""
    grad_norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads))
    errors = []
    for _ in range(_FD_DIRECTIONS):
        directions = _unit_directions([g.shape for g in grads], rng)
        autodiff = sum(float(np.sum(g * d)) for g, d in zip(grads, directions))
        forward = loss_at([_FD_EPS * d for d in directions])
        backward = loss_at([-_FD_EPS * d for d in directions])
        numeric = (forward - backward) / (2 * _FD_EPS)
        errors.append((_relative_error(autodiff, numeric, grad_norm), autodiff, numeric))
    return sorted(errors)[len(errors) // 2]


def _dense_gradients(grads, sources):
    return [np.zeros(tuple(s.shape)) if g is None else np.asarray(tf.convert_to_tensor(g))
            for g, s in zip(grads, sources)]


def _weights_error(layer, inputs, weights, rng):
    """Finite differences along random directions in the space of the trainable weights."""
    with tf.GradientTape() as tape:
        loss = _loss(layer, inputs)
    grads = _dense_gradients(tape.gradient(loss, weights), weights)
    originals = values(weights)

    def loss_at(steps):
        for weight, original, step in zip(weights, originals, steps):
            weight.assign(original + step)
        return float(_loss(layer, inputs))

    try:
        return _median_error(grads, loss_at, rng)
    finally:
        for weight, original in zip(weights, originals):
            weight.assign(original)


def _inputs_error(layer, inputs, rng):
    """Finite differences along random directions in the space of the inputs."""
    listed = inputs if isinstance(inputs, list) else [inputs]

    def pack(arrays):
        return list(arrays) if isinstance(inputs, list) else arrays[0]

    with tf.GradientTape() as tape:
        for x in listed:
            tape.watch(x)
        loss = _loss(layer, pack(listed))
    grads = _dense_gradients(tape.gradient(loss, listed), listed)
    return _median_error(
        grads, lambda steps: float(_loss(layer, pack([x + s for x, s in zip(listed, steps)]))), rng)


@contract("gradients")
def check_gradients_match_finite_differences(spec):
    """Gradients computed by autodiff agree with central finite differences in float64, for the weights and the inputs."""
    if spec.has_trait("no_float64"):
        raise NotApplicable("declared no_float64: finite differences need float64")
    for trait in ("stochastic_inference", "stateful_inference"):
        if spec.has_trait(trait):
            raise NotApplicable(f"declared {trait}: the loss is not a fixed function to differentiate")
    layer, inputs = _float64_layer(spec)
    rng = np.random.default_rng(3)
    weights = list(layer.trainable_weights)
    parts = [("weights", _weights_error(layer, inputs, weights, rng))] if weights else []
    parts.append(("inputs", _inputs_error(layer, inputs, rng)))
    for what, (error, autodiff, numeric) in parts:
        expect(error <= _FD_TOLERANCE,
               f"the gradient with respect to the {what} to match finite differences "
               f"(relative error <= {_FD_TOLERANCE:g})",
               f"directional derivative {autodiff:.6g} by autodiff against {numeric:.6g} by finite "
               f"differences (median relative error {error:.2g} over {_FD_DIRECTIONS} directions)",
               hint="a tf.custom_gradient or a hand-written gradient is wrong")


# -- training with fit -----------------------------------------------------------------------


def _fit_one_step(spec, layer):
    """Compile the layer's model (SGD, MSE, no XLA) and fit one batch of random targets."""
    model = spec.model_of(layer)
    inputs = spec.inputs(seed=1)
    targets = targets_for(model(inputs, training=False), "mse", seed=2)
    model.compile(optimizer=compat.keras.optimizers.SGD(learning_rate=0.1), loss="mse",
                  jit_compile=False)
    with warnings.catch_warnings():  # "the model does not have any trainable weights"
        warnings.simplefilter("ignore", UserWarning)
        model.fit(inputs, targets, batch_size=spec.batch_size, epochs=1, shuffle=False, verbose=0)


@contract("gradients")
def check_fit_updates_trainable_weights(spec):
    """One ``fit`` step on a mean-squared-error loss changes every trainable weight."""
    unchanged, weights = None, None
    for attempt in range(_ATTEMPTS):  # as above: a dead ReLU bottleneck is a matter of the draw
        compat.keras.utils.set_random_seed(attempt)
        layer = spec.built()
        weights = _trainable_or_skip(layer)
        before = values(weights)
        _fit_one_step(spec, layer)
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
    _fit_one_step(spec, layer)
    moved = changed(before, values(weights))
    expect(not moved, f"none of the {len(weights)} weights to change",
           lambda: f"changed after one fit step with trainable=False: {_paths(weights, moved)}",
           hint="trainable_weights must be empty when trainable is False, and state updates "
                "in training mode must respect self.trainable")
