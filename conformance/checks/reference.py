"""Reference: the target computes, trains and initialises like a reference implementation."""

import math

import numpy as np
import tensorflow as tf

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


def _names(layer):
    return [w.name.split("/")[-1].split(":")[0] for w in layer.weights]


def _listing(layer):
    return ", ".join(f"{n}{s}" for n, s in zip(_names(layer), _shapes(layer))) or "no weights"


def _require_same_structure(target, reference):
    """Raise a violation unless both have weights of the same shapes in the same order."""
    expect(_shapes(target) == _shapes(reference),
           f"the reference's weights, in order: {_listing(reference)}",
           lambda: _listing(target))


def _with_reference_weights(spec, randomize=True):
    """(target, reference): both built, the target holding the reference's (randomised) weights."""
    from conformance.references import randomize_weights

    reference = spec.built_reference()
    target = spec.built()
    _require_same_structure(target, reference)
    if randomize:
        randomize_weights(reference, seed=0)
    target.set_weights(reference.get_weights())
    return target, reference


@contract("reference", needs_reference=True)
def check_reference_weight_structure(spec):
    """The target has as many weights as the reference, in the same order, with the same shapes."""
    _require_same_structure(spec.built(), spec.built_reference())


@contract("reference", needs_reference=True, skipped_by=("stochastic_inference",))
def check_reference_outputs(spec):
    """With the reference's weights, the target's outputs match the reference's, in inference and (when the reference is deterministic) in training."""
    target, reference = _with_reference_weights(spec)
    x = spec.draw(seed=1)
    modes = [False]
    if "stochastic_in_training" not in spec.reference_entry().traits:
        modes.append(True)
    for training in modes:
        expected = forward(spec, reference, x, training=training)
        seen = forward(spec, target, x, training=training)
        mode = "training" if training else "inference"
        difference = mismatch(expected, seen, _CLOSE, floor=1e-6)
        expect(not difference, f"the reference's {mode} outputs", difference)


def _gradients(spec, layer, inputs):
    """Gradients of the projection loss w.r.t. the trainable weights, then the float inputs."""
    tensors = spec.inputs.as_tensors(inputs)
    watched = [tensors[key] for key in spec.inputs.float_keys]
    weights = list(layer.trainable_weights)
    with tf.GradientTape() as tape:
        tape.watch(watched)
        loss = projection_loss(spec.call(layer, tensors, training=False), seed=0)
    grads = tape.gradient(loss, weights + watched)
    sources = weights + watched
    return [
        np.zeros(tuple(source.shape)) if grad is None else np.asarray(tf.convert_to_tensor(grad), dtype="float64")
        for grad, source in zip(grads, sources)
    ]


@contract("reference", needs_reference=True, skipped_by=("inference_only", "stochastic_inference"))
def check_reference_gradients(spec):
    """With the reference's weights, the gradients of a loss w.r.t. the target's trainable weights and inputs match the reference's."""
    target, reference = _with_reference_weights(spec)
    x = spec.draw(seed=1)
    expected, seen = _gradients(spec, reference, x), _gradients(spec, target, x)
    trainable = [w.name.split("/")[-1].split(":")[0] for w in reference.trainable_weights]
    floats = spec.inputs.float_keys
    labels = [f"weight {n!r}" for n in trainable] + [f"input {key}" for key in floats]
    expect(len(expected) == len(seen), f"{len(trainable)} trainable weights, like the reference",
           f"{len(seen) - len(floats)} trainable weights")
    overall = max([1e-12] + [float(np.max(np.abs(g))) for g in expected if g.size])
    for label, want, got in zip(labels, expected, seen):
        if not want.size:
            continue
        scale = max(float(np.max(np.abs(want))), 1e-3 * overall)
        diff = float(np.max(np.abs(want - got)))
        expect(diff <= _CLOSE * scale, f"the reference's gradient w.r.t. {label}",
               f"a gradient differing by up to {diff:.3g} (reference gradient magnitude {scale:.3g})",
               hint="check any custom gradient (tf.custom_gradient) against the function it differentiates")


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
    keras.utils.set_random_seed(0)
    _require_same_structure(spec.built(), spec.built_reference())
    names = _names(spec.built_reference())
    references = _fresh_weights(spec.built_reference, _INIT_INSTANCES)
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
    if "stochastic_in_training" not in spec.reference_entry().traits:
        raise NotApplicable(f"reference {spec.reference!r} is deterministic in training")
    keras.utils.set_random_seed(0)
    target, reference = _with_reference_weights(spec, randomize=False)
    per_sample = math.prod(spec.input_shapes[0][1:])
    batch = min(4096, max(256, math.ceil(20000 / per_sample)))
    ones = spec.inputs.filled(batch, 1.0)
    want = _row_statistics(forward(spec, reference, ones, training=True))
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
    want = _parameter_counts(spec.built_reference())
    got = _parameter_counts(spec.built())
    expect(want == got, f"{want[0]} trainable and {want[1]} non-trainable parameters, like the reference",
           f"{got[0]} trainable and {got[1]} non-trainable")

