"""Modes: what ``training`` changes, and what inference must leave alone."""

import inspect

import numpy as np

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import OMITTED, changed, forward, output_batch_axes, values, \
    variable_names
from keras_compat import keras
from conformance.outcomes import NotApplicable, expect
from conformance.tensors import mismatch, take_batch
from conformance.wrapping import fit_one_step

#: Relative tolerance for "the same output" when the same numbers are computed again.
_SAME = 1e-6
#: Relative tolerance when batch composition changes (other kernels, other summation order).
_BATCH = 1e-4
#: Inference calls compared with the first one before inference is judged deterministic.
_INFERENCE_REPEATS = 3


class _State:
    """The layer's weights, put back before each call so calls compare like with like."""

    def __init__(self, spec, layer):
        self.spec = spec
        self.layer = layer
        self.saved = values(layer.weights)

    def run(self, inputs, training=OMITTED):
        for variable, value in zip(self.layer.weights, self.saved):
            variable.assign(value)
        return forward(self.spec, self.layer, inputs, training=training)


@contract("modes", skipped_by=("stochastic_inference",))
def check_inference_deterministic(spec):
    """Two inference calls (``training=False``) on the same input, from the same weights, give identical outputs."""
    state = _State(spec, spec.built())
    x = spec.draw(seed=1)
    first = state.run(x, training=False)
    # Random inference can repeat itself by chance (a drop path on a small batch): several calls.
    diff = next(filter(None, (mismatch(first, state.run(x, training=False), _SAME)
                              for _ in range(_INFERENCE_REPEATS))), None)
    expect(not diff, f"identical outputs from {_INFERENCE_REPEATS + 1} inference calls on the same input", diff,
           hint="randomness (noise, dropout) belongs under `if training:`; "
                "or declare stochastic_inference")


@contract("modes", skipped_by=("stochastic_inference", "training_by_default"))
def check_default_call_is_inference(spec):
    """A call without a ``training`` argument runs in inference: it gives the same output as ``training=False``."""
    state = _State(spec, spec.built())
    x = spec.draw(seed=2)
    inference = state.run(x, training=False)
    # A random training mode can agree with inference by chance (no flip on a batch of 2): several calls.
    diff = next(filter(None, (mismatch(inference, state.run(x), _SAME)
                              for _ in range(_INFERENCE_REPEATS))), None)
    expect(not diff, f"layer(x) to equal layer(x, training=False) in {_INFERENCE_REPEATS} calls", diff,
           hint="default training to None (or False) in call(); fit() passes training=True itself; "
                "or declare training_by_default (--trait training_by_default) if a plain call "
                "trains by design, as Keras's augmentation layers do")


@contract("modes", skipped_by=("batch_dependent", "stochastic_inference"))
def check_batch_independent_inference(spec):
    """In inference, each sample's output does not depend on the other samples in its batch."""
    state = _State(spec, spec.built())
    size = max(spec.batch_size, 3)
    x = spec.draw(batch_size=size, seed=3)
    full = state.run(x, training=False)
    batched = output_batch_axes(spec, state.layer)
    if not any(batched) or any(along and full[i].shape[0] != size for i, along in enumerate(batched)):
        raise NotApplicable("no output has a batch dimension to compare sample by sample")
    order = np.random.default_rng(0).permutation(size)
    if np.array_equal(order, np.arange(size)):
        order = order[::-1]
    shuffled = state.run(spec.inputs.slice_batch(x, order), training=False)
    diff = mismatch(take_batch(full, batched, order), shuffled, _BATCH)
    expect(not diff, "the same per-sample outputs when the batch (every input, masks included) "
           "is shuffled", diff,
           hint="in inference use stored statistics, not statistics of the batch; "
                "or declare batch_dependent")
    for i in range(size):
        alone = state.run(spec.inputs.slice_batch(x, slice(i, i + 1)), training=False)
        diff = mismatch(take_batch(full, batched, slice(i, i + 1)), alone, _BATCH)
        expect(not diff, f"sample {i}'s output alone to equal its output in a batch of {size}", diff,
               hint="in inference use stored statistics, not statistics of the batch; "
                    "or declare batch_dependent")


@contract("modes", skipped_by=("stateful_inference",))
def check_inference_mutates_no_variable(spec):
    """Inference calls (``training=False``, or no ``training`` argument) change no variable."""
    layer = spec.built()
    # Random-number seed state advances by design in a declared stochastic layer (Keras 3).
    watched = layer.weights if spec.has_trait("stochastic_inference") else layer.variables
    before = values(watched)
    calls = [("layer(x, training=False)", False)]
    if not spec.has_trait("training_by_default"):  # else layer(x) is a training call, by declaration
        calls.append(("layer(x)", OMITTED))
    for label, training in calls:
        for seed in (4, 5):
            forward(spec, layer, spec.draw(seed=seed), training=training)
        moved = changed(before, values(watched))
        expect(not moved, f"no variable to change during {label}",
               lambda: f"changed: {', '.join(variable_names(watched, moved))}",
               hint="update state only `if training:`; or declare stateful_inference"
                    + ("" if training is False else "; or, if a plain call trains by design (Keras's "
                       "augmentation layers), declare training_by_default"))


@contract("modes", skipped_by=("stochastic_inference",))
def check_training_argument_exposed(spec):
    """A layer whose output depends on ``training`` declares ``training`` in ``call``'s signature.

    "Depends" means ``layer(x, training=True)`` and ``layer(x, training=False)`` differ.
    Both Keras 2 and Keras 3 forward a ``training`` value that ``call`` does not declare
    to nested sublayers through their call context, so such a layer does switch modes in
    ``fit``; but code that calls it cannot see, document or forward the argument, and
    ``call`` cannot act on it itself. ``**kwargs`` does not count: Keras 3 never puts
    ``training`` into it (Keras 2 does).
    """
    state = _State(spec, spec.built())
    x = spec.draw(seed=6)
    inference = state.run(x, training=False)
    if mismatch(inference, state.run(x, training=False), _SAME):
        raise NotApplicable("inference output is not reproducible, so no dependence on training "
                            "can be told apart (see check_inference_deterministic)")
    # A random training-mode output (dropout) can match by chance: try a few times.
    depends = any(mismatch(inference, state.run(x, training=True), _SAME) for _ in range(3))
    if not depends:
        raise NotApplicable("output does not depend on training")
    signature = inspect.signature(spec.cls.call)
    expect(spec.call_accepts("training"),
           "call() to declare a training argument, since layer(x, training=True) and "
           "layer(x, training=False) differ",
           f"call{signature} without one",
           hint="add training=None to call() and pass it to the sublayers")


def _batch_norms(layer):
    found = [sub for sub in [layer] + compat.sublayers(layer)
             if isinstance(sub, keras.layers.BatchNormalization)]
    if not found:
        raise NotApplicable("no BatchNormalization inside")
    trainable = [bn for bn in found if bn.trainable]
    if not trainable:
        raise NotApplicable("every BatchNormalization inside is frozen (trainable=False), "
                            "which keeps it in inference mode")
    return trainable


def _moving_statistics(batch_norms):
    return [values([bn.moving_mean, bn.moving_variance]) for bn in batch_norms]


def _stale(batch_norms, before):
    after = _moving_statistics(batch_norms)
    return [bn.name for bn, old, new in zip(batch_norms, before, after) if not changed(old, new)]


@contract("modes", skipped_by=("inference_only",))
def check_training_updates_nested_state(spec):
    """A training step updates the moving statistics of every BatchNormalization inside the layer."""
    layer = spec.built()
    batch_norms = _batch_norms(layer)
    before = _moving_statistics(batch_norms)
    forward(spec, layer, spec.draw(seed=7), training=True)
    stale = _stale(batch_norms, before)
    expect(not stale,
           "layer(x, training=True) to update the moving mean and variance of every "
           "BatchNormalization inside",
           f"unchanged: {', '.join(stale)}",
           hint="pass training=training to each BatchNormalization call")

    instance = spec.built()
    batch_norms = _batch_norms(instance)
    before = _moving_statistics(batch_norms)
    fit_one_step(spec, instance, seed=8)
    stale = _stale(batch_norms, before)
    expect(not stale,
           "one fit() step to update the moving mean and variance of every "
           "BatchNormalization inside",
           f"unchanged after fit: {', '.join(stale)}",
           hint="pass training=training to each BatchNormalization call")
