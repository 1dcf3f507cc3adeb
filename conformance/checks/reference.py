"""Reference: the target computes, trains and initialises like a reference implementation."""

import math

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance import reference_target
from conformance.catalogue import contract
from conformance.checks._common import forward, projection_loss
from keras_compat import keras
from conformance.outcomes import NotApplicable, expect
from conformance.tensors import as_arrays, mismatch

#: Relative tolerance for outputs and gradients computed from the same weights: the target
#: may order its arithmetic differently from the reference.
_CLOSE = 1e-4
#: Fresh instances of each whose initial weights are compared.
_INIT_INSTANCES = 3
#: How many standard errors a statistic may stray before it counts as different.
_SIGMAS = 5.0


def _shapes(layer):
    return [tuple(int(d) for d in w.shape) for w in layer.weights]


def _listing(layer):
    return reference_target.listing(reference_target.weight_names(layer), _shapes(layer))


def _layer_reference(spec, what):
    """The spec's reference; not applicable when it is a function, which has no ``what``."""
    reference = spec.reference_entry()
    if not reference.has_weights:
        raise NotApplicable(reference.not_a_layer_reason(what))
    return reference


def _mapped(spec, reference, target, arrays=None):
    """The values for ``target.weights`` from ``reference``'s weights (or ``arrays`` in their
    place), through the spec's weight map; a violation when they do not fit."""
    weight_map = reference_target.parse_weight_map(spec.weight_map)
    names = reference_target.weight_names(reference)
    arrays = reference.get_weights() if arrays is None else arrays
    mapped, problem = reference_target.map_weights(names, arrays, target, weight_map)
    if weight_map is None:
        expect(problem is None, f"the reference's weights, in order: {_listing(reference)}",
               problem, hint="if they are the same weights in another order or layout, "
                             + reference_target.WEIGHT_MAP_HELP)
    else:
        expect(problem is None, "the weight_map to give each of the target's weights a value of its shape",
               problem, hint=f"the reference's weights: {_listing(reference)}; "
                             f"the target's: {_listing(target)}")
    return mapped


def _with_reference_weights(spec, randomize=True):
    """(target, reference): both built, the target holding the reference's (randomised) weights."""
    from conformance.references import randomize_weights

    reference = spec.built_reference()
    target = spec.built()
    if randomize:
        randomize_weights(reference, seed=0)
    target.set_weights(_mapped(spec, reference, target))
    return target, reference


@contract("reference", needs_reference=True)
def check_reference_weight_structure(spec):
    """The target has as many weights as the reference, in the same order, with the same shapes (or as the weight map says)."""
    _layer_reference(spec, "weights")
    _mapped(spec, spec.built_reference(), spec.built())


def _function_outputs(spec, reference, values, training, target):
    """What a function reference expects of ``target`` (its current weights) on ``values``."""
    return reference.outputs(spec, values, training, weights=reference_target.named_values(target))


@contract("reference", needs_reference=True, skipped_by=("stochastic_inference",))
def check_reference_outputs(spec):
    """With the reference's weights, the target's outputs match the reference's, in inference, in training and in inference after a training call (the last two when the reference is deterministic in training)."""
    from conformance.references import randomize_weights

    reference = spec.reference_entry()
    deterministic = not reference.stochastic_in_training(spec)
    x = spec.draw(seed=1)
    if reference.has_weights:
        target, instance = _with_reference_weights(spec)
        modes = [False] + ([True, "after"] if deterministic else [])
    else:
        target = spec.built()
        randomize_weights(target, seed=0)
        modes = [False] + ([True] if deterministic else [])
    for mode in modes:
        training = mode is True
        if reference.has_weights:
            expected = reference.outputs(spec, x, training, instance)
        else:
            expected = _function_outputs(spec, reference, x, training, target)
        seen = forward(spec, target, x, training=training)
        described = {False: "inference", True: "training", "after": "inference after a training call"}[mode]
        difference = mismatch(expected, seen, _CLOSE, floor=1e-6)
        expect(not difference, f"the reference's {described} outputs", difference,
               hint="a training call updates state (a moving mean or variance) as the reference's "
                    "does" if mode == "after" else None)


def _gradients(spec, layer, inputs, weights):
    """Gradients of the projection loss w.r.t. ``weights``, then the float inputs."""
    tensors = spec.inputs.as_tensors(inputs)
    watched = [tensors[key] for key in spec.inputs.float_keys]
    weights = list(weights)
    with tf.GradientTape() as tape:
        tape.watch(watched)
        loss = projection_loss(spec.call(layer, tensors, training=False), seed=0)
    grads = tape.gradient(loss, weights + watched)
    sources = weights + watched
    return [
        np.zeros(tuple(source.shape)) if grad is None else np.asarray(tf.convert_to_tensor(grad), dtype="float64")
        for grad, source in zip(grads, sources)
    ]


def _mapped_gradients(spec, reference, target, weight_gradients):
    """The reference's gradients w.r.t. its trainable weights, placed on the target's
    trainable weights through the weight map (a non-trainable weight's gradient is zero)."""
    trainable = {id(w): g for w, g in zip(reference.trainable_weights, weight_gradients)}
    full = [trainable.get(id(w), np.zeros(tuple(w.shape))) for w in reference.weights]
    mapped = _mapped(spec, reference, target, arrays=full)
    positions = {id(w): i for i, w in enumerate(target.weights)}
    return [mapped[positions[id(w)]] for w in target.trainable_weights]


@contract("reference", needs_reference=True, skipped_by=("inference_only", "stochastic_inference"))
def check_reference_gradients(spec):
    """With the reference's weights, the gradients of a loss w.r.t. the target's trainable weights and inputs match the reference's."""
    _layer_reference(spec, "gradients w.r.t. weights")
    target, reference = _with_reference_weights(spec)
    x = spec.draw(seed=1)
    floats = spec.inputs.float_keys
    weight_map = reference_target.parse_weight_map(spec.weight_map)
    expected = _gradients(spec, reference, x, reference.trainable_weights)
    seen = _gradients(spec, target, x, target.trainable_weights)
    if weight_map is None:
        trainable = [compat.weight_name(w) for w in reference.trainable_weights]
        expect(len(expected) == len(seen), f"{len(trainable)} trainable weights, like the reference",
               f"{len(seen) - len(floats)} trainable weights")
    else:
        weights_seen = seen[:len(seen) - len(floats)]
        if callable(weight_map):  # an arbitrary function does not carry gradients across
            weights_expected, weights_seen = [], []
        else:
            weights_expected = _mapped_gradients(spec, reference, target,
                                                 expected[:len(expected) - len(floats)])
        expected = weights_expected + expected[len(expected) - len(floats):]
        seen = weights_seen + seen[len(seen) - len(floats):]
        trainable = [compat.weight_name(w) for w in target.trainable_weights][:len(weights_seen)]
    labels = [f"weight {n!r}" for n in trainable] + [f"input {key}" for key in floats]
    overall = max([1e-12] + [float(np.max(np.abs(g))) for g in expected if g.size])
    for label, want, got in zip(labels, expected, seen):
        if not want.size:
            continue
        scale = max(float(np.max(np.abs(want))), 1e-3 * overall)
        diff = float(np.max(np.abs(want - got)))
        expect(diff <= _CLOSE * scale, f"the reference's gradient w.r.t. {label}",
               f"a gradient differing by up to {diff:.3g} (reference gradient magnitude {scale:.3g})",
               hint="check any custom gradient (tf.custom_gradient) against the function it differentiates")
    if callable(weight_map):
        return ("the gradients w.r.t. the inputs only: a weight_map function does not carry "
                "gradients w.r.t. the weights across (a {name: 'name.T'} map does)")
    return None


def _fresh_weights(make, count):
    """The initial weight values of ``count`` fresh, built instances: one list per weight."""
    instances = [[np.asarray(w, dtype="float64") for w in make().weights] for _ in range(count)]
    return [list(draws) for draws in zip(*instances)]


def _describe_draws(arrays):
    pooled = np.concatenate([a.ravel() for a in arrays])
    return f"mean {pooled.mean():.3g}, std {pooled.std():.3g}"


@contract("reference", needs_reference=True)
def check_reference_initialization(spec):
    """Fresh weights are initialised like the reference's: equal where the reference's are fixed (zeros, ones), with the same mean and spread where random."""
    _layer_reference(spec, "initial weights")
    keras.utils.set_random_seed(0)
    template = spec.built()
    _mapped(spec, spec.built_reference(), template)
    names = reference_target.weight_names(template)
    fresh = [[np.asarray(a, dtype="float64") for a in _mapped(spec, spec.built_reference(), template)]
             for _ in range(_INIT_INSTANCES)]
    references = [list(draws) for draws in zip(*fresh)]
    targets = _fresh_weights(spec.built, _INIT_INSTANCES)
    for name, ref_draws, target_draws in zip(names, references, targets):
        if not ref_draws[0].size:
            continue
        if all(np.array_equal(ref_draws[0], d) for d in ref_draws[1:]):  # a fixed initial value
            worst = max(float(np.max(np.abs(d - ref_draws[0]))) for d in target_draws)
            expect(worst <= 1e-6 * max(1.0, float(np.max(np.abs(ref_draws[0])))),
                   f"weight {name!r} to start at the reference's fixed value "
                   f"({_describe_draws(ref_draws[:1])})",
                   f"values differing by up to {worst:.3g} ({_describe_draws(target_draws)})")
            continue
        want = np.concatenate([d.ravel() for d in ref_draws])
        got = np.concatenate([d.ravel() for d in target_draws])
        n = want.size
        mean_ok = abs(got.mean() - want.mean()) <= _SIGMAS * want.std() / math.sqrt(n) + 1e-7
        std_ok = abs(got.std() - want.std()) <= want.std() * (0.05 + _SIGMAS / math.sqrt(2 * n))
        expect(mean_ok and std_ok,
               f"weight {name!r} drawn like the reference's ({_describe_draws(ref_draws)})",
               _describe_draws(target_draws))


def _row_statistics(outputs):
    """(kept fraction, its standard error, mean kept value, its standard error) over the rows of
    the outputs, a kept unit being a non-zero one; rows are the independent samples."""
    rows = np.concatenate([a.reshape(a.shape[0], -1) for a in as_arrays(outputs)], axis=1)
    kept = rows != 0
    fractions = kept.mean(axis=1)
    count = kept.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count > 0, (rows * kept).sum(axis=1) / np.maximum(count, 1), np.nan)
    means = means[~np.isnan(means)]
    batch = rows.shape[0]
    mean_kept = float(means.mean()) if means.size else 0.0
    mean_error = float(means.std() / math.sqrt(means.size)) if means.size else 0.0
    return float(fractions.mean()), float(fractions.std() / math.sqrt(batch)), mean_kept, mean_error


@contract("reference", needs_reference=True)
def check_reference_stochastic_statistics(spec):
    """In training, a target whose reference is random in training keeps the same fraction of units and scales the kept ones alike (on a large all-ones input)."""
    reference = spec.reference_entry()
    if not reference.stochastic_in_training(spec):
        measured = "" if reference.kind == reference_target.REGISTRY else \
            " (measured: seeded training calls on the same inputs gave the same outputs)"
        raise NotApplicable(f"reference {spec.reference!r} is deterministic in training{measured}")
    keras.utils.set_random_seed(0)
    if reference.has_weights:
        target, instance = _with_reference_weights(spec, randomize=False)
    else:
        target = spec.built()
    per_sample = math.prod(spec.input_shapes[0][1:])
    batch = min(4096, max(256, math.ceil(20000 / per_sample)))
    ones = spec.inputs.filled(batch, 1.0)
    if reference.has_weights:
        want = _row_statistics(reference.outputs(spec, ones, True, instance))
    else:
        want = _row_statistics(_function_outputs(spec, reference, ones, True, target))
    got = _row_statistics(forward(spec, target, ones, training=True))
    fraction_tolerance = _SIGMAS * math.hypot(want[1], got[1]) + 1e-3
    expect(abs(want[0] - got[0]) <= fraction_tolerance,
           f"a fraction {want[0]:.3f} of units kept (non-zero), like the reference",
           f"a fraction {got[0]:.3f}", hint="dropout keeps each unit with probability 1 - rate")
    if want[0] > 0 and got[0] > 0:
        scale_tolerance = _SIGMAS * math.hypot(want[3], got[3]) + 1e-4 * abs(want[2]) + 1e-6
        expect(abs(want[2] - got[2]) <= scale_tolerance,
               f"kept units averaging {want[2]:.4g}, like the reference",
               f"kept units averaging {got[2]:.4g}",
               hint="inverted dropout scales the kept units by 1 / (1 - rate)")


def _parameter_counts(layer):
    def total(variables):
        unique = {id(v): v for v in variables}
        return sum(int(np.prod(v.shape)) for v in unique.values())

    return total(layer.trainable_weights), total(layer.non_trainable_weights)


@contract("reference", needs_reference=True)
def check_reference_parameter_counts(spec):
    """The target has the same numbers of trainable and non-trainable parameters as the reference."""
    _layer_reference(spec, "parameters")
    want = _parameter_counts(spec.built_reference())
    got = _parameter_counts(spec.built())
    expect(want == got, f"{want[0]} trainable and {want[1]} non-trainable parameters, like the reference",
           f"{got[0]} trainable and {got[1]} non-trainable")

