"""Data pipelines: ``predict`` and ``fit`` from a batched ``tf.data.Dataset`` give what they give from arrays.

A pipeline hands the model batches whose size is unknown when ``predict`` and ``fit`` trace
their step (``None``), and most pipelines end with a short batch. The target is fed such a
dataset, in its model (a layer through a Functional wrapper), on the TensorFlow backend.
"""

import warnings

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import output_batch_axes, random_in_training, run_step
from conformance.distributed import steps
from conformance.outcomes import ContractViolation, NotApplicable, expect
from conformance.tensors import as_arrays, mismatch
from conformance.wrapping import losses_and_targets, trained_outputs
from keras_compat import keras

#: Two full batches and a short final one.
_SAMPLES, _BATCH = 10, 4
#: Relative tolerance between two runs of the same computation on the same batches.
_SAME = 1e-5
_PIPELINE = (f"a tf.data.Dataset of {_SAMPLES} samples in batches of {_BATCH} "
             f"(the last of {_SAMPLES % _BATCH})")
_DIFFERENCE_HINT = ("both runs start from the same weights (set_weights) and see the same batches: "
                    "a difference comes from state that is not a weight (an untracked variable, a "
                    "Python counter), numbers drawn while tracing, or code that reads the static "
                    "batch size, which is None from a pipeline")
_HINT = ("a batch from a tf.data pipeline has no static size when the step is traced (None) and "
         "the last one is shorter: take the batch size from the tensor (ops.shape(x)[0]), never "
         "from a Python int or a variable shaped by one batch")


def _tuples(structure):
    """``structure`` with its lists made tuples: ``from_tensor_slices`` takes a list for one
    tensor to stack, where Keras takes it for several inputs or outputs."""
    if isinstance(structure, dict):
        return {key: _tuples(value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return tuple(_tuples(value) for value in structure)
    return structure


def _step(expected, action):
    """:func:`run_step` with the short-batch hint on a failure."""
    try:
        return run_step(expected, action)
    except ContractViolation as violation:
        raise ContractViolation(violation.expected, violation.seen, violation.hint or _HINT) from violation


def _dataset(*structures):
    """``(x,)`` or ``(x, y)`` sliced into samples and batched, the short final batch kept.
    Always a tuple: Keras reads a tuple element as ``(x, y, sample_weight)``, so several
    inputs given bare would be taken for inputs, targets and weights."""
    return tf.data.Dataset.from_tensor_slices(tuple(map(_tuples, structures))).batch(_BATCH)


def _not_batched_along_axis_0(spec, instance, positions=None):
    """Not applicable when an output (of ``positions``, or any) has an axis besides the
    first that follows the batch, like in-batch ``(batch, batch)`` logits: Keras joins the
    batches' outputs along the first axis only and slices targets along it alone, so such
    an output cannot come in batches of different sizes."""
    try:
        learnt = output_batch_axes(spec, instance)
    except Exception:  # noqa: BLE001 - a layer tied to one batch size: the pipeline run says so
        return
    for position, axes in enumerate(learnt):
        if set(axes) - {0} and (positions is None or position in positions):
            raise NotApplicable(f"output {position} has axes {tuple(axes)} that follow the batch: "
                                "predict() and fit() join and slice batches along the first axis "
                                "only, so it cannot come in batches of different sizes")


@contract("pipelines", tier="full", skipped_by=("stochastic_inference",))
def check_predict_from_dataset(spec):
    """``predict`` from a batched ``tf.data.Dataset`` whose last batch is short gives the outputs ``predict`` gives from the same arrays."""
    instance = spec.built()
    _not_batched_along_axis_0(spec, instance)
    model = spec.model_of(instance)
    x = spec.model_data(model, spec.draw(batch_size=_SAMPLES, seed=steps.DATA_SEED))
    seen = as_arrays(_step(f"predict() from {_PIPELINE} to work",
                              lambda: model.predict(_dataset(x), verbose=0)))
    expected = as_arrays(_step(f"predict() from the same {_SAMPLES} samples as arrays, in batches "
                                  f"of {_BATCH}, to work", lambda: model.predict(x, batch_size=_BATCH, verbose=0)))
    difference = mismatch(expected, seen, _SAME)
    expect(not difference, f"predict() from {_PIPELINE} to give what it gives from the arrays",
           difference, hint=_DIFFERENCE_HINT)


def _random_in_training(spec):
    """Whether fit must run the target with ``training=False``: two fits from the same
    weights draw different random numbers in training (dropout), which is no difference
    between a dataset and arrays. Asked of the target traced once, as fit traces its step."""
    instance = spec.built()
    random = random_in_training(spec, tf.function(lambda *args, **kwargs: instance(*args, **kwargs)))
    if random and spec.has_trait("stochastic_inference"):
        raise NotApplicable("random in training and in inference (stochastic_inference): two fits "
                            "draw different numbers by design")
    return random


def _fit(model, losses, data, **arrays):
    """One epoch of plain SGD on ``data`` (a dataset, or ``(x, y)`` with ``arrays``' fit
    arguments); what fit reports for the epoch, ``{name: value}`` (a custom train_step
    may report other names than "loss")."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "the model does not have any trainable weights"
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=steps.LEARNING_RATE), loss=losses,
                      jit_compile=False)
        history = model.fit(*data, epochs=1, verbose=0, **arrays)
    return {name: np.asarray(values[-1], dtype="float64") for name, values in history.history.items()}


def _describe_report(report):
    return ", ".join(f"{name} {np.array2string(value, precision=6)}" for name, value in report.items())


def _weights_differ(model, expected, seen, what):
    problems = []
    for variable, want, got in zip(model.weights, expected, seen):
        difference = mismatch([want], [got], _SAME)
        if difference:
            problems.append(f"{compat.variable_path(variable)}: {difference}")
    return f"{len(problems)} {what} weights differ ({'; '.join(problems[:3])})" if problems else None


@contract("pipelines", tier="full", skipped_by=("inference_only",))
def check_fit_from_dataset(spec):
    """One epoch of ``fit`` without shuffling from a batched ``tf.data.Dataset`` whose last batch is short leaves the weights and loss that ``fit`` on the same arrays in the same batches does."""
    inference_only = _random_in_training(spec)
    weights = steps.initial_weights(spec)
    values = spec.draw(batch_size=_SAMPLES, seed=steps.DATA_SEED)
    outputs = spec.call(steps.model(spec, weights), values, training=False)
    if not trained_outputs(spec, outputs, _SAMPLES):
        raise NotApplicable("no floating-point output with a batch axis to put a loss on "
                            "(name one with loss_outputs): there is no loss to fit")
    _not_batched_along_axis_0(spec, spec.built(), trained_outputs(spec, outputs, _SAMPLES))
    losses, targets = losses_and_targets(outputs, seed=steps.TARGET_SEED, spec=spec, batch_size=_SAMPLES)
    from_data = steps.model(spec, weights, inference_only=inference_only)
    x = spec.model_data(from_data, values)
    seen_report = _step(f"fit() from {_PIPELINE} to train one epoch",
                        lambda: _fit(from_data, losses, (_dataset(x, targets),)))
    from_arrays = steps.model(spec, weights, inference_only=inference_only)
    expected_report = _step(f"fit() on the same {_SAMPLES} samples as arrays, in batches of {_BATCH}, "
                            "to train one epoch",
                            lambda: _fit(from_arrays, losses, (x, targets), batch_size=_BATCH, shuffle=False))
    what = f"fit() from {_PIPELINE}" + (" (training=False: the target is random in training)"
                                         if inference_only else "")
    # In fit's own order: per-output entries are named after each model's own layers
    # ("dense_7_loss"), which differ between the two models.
    expected_values, seen_values = list(expected_report.values()), list(seen_report.values())
    reported = (f"{len(seen_values)} values, not {len(expected_values)}" if len(seen_values) != len(expected_values)
                else mismatch(expected_values, seen_values, _SAME))
    expect(not reported,
           f"{what} to report what fit() on the arrays reports for the epoch: {_describe_report(expected_report)}",
           lambda: _describe_report(seen_report), hint=_DIFFERENCE_HINT)
    problem = _weights_differ(from_arrays, [np.array(v) for v in from_arrays.weights],
                              [np.array(v) for v in from_data.weights], "trained")
    expect(problem is None, f"{what} to leave the weights fit() on the arrays leaves", problem,
           hint=_DIFFERENCE_HINT)
