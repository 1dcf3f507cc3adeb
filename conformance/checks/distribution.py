"""Distribution: the target under ``tf.distribute.MirroredStrategy`` behaves as on one device.

TensorFlow fixes its devices when it starts, so these checks run in a process of their own
with several replicas: two logical CPU devices, or the visible GPUs when there are two or
more (:mod:`conformance.distributed` starts it, configures the devices and runs the steps).
Each check is written as ``check_x(spec, replicas)`` and decorated with :func:`_in_replicas`:
the process runs every check of the family on a target (:func:`run_in_replicas`), and the
check, called by the runner, raises what it raised there. The runner starts that process in
the background as soon as the run begins, beside the other families. The target must be
importable in that process: the spec needs an ``import_path``.

A target random in training (dropout, noise) is trained with ``training=False`` in the fit
comparison, since each replica draws its own random numbers by design. A target with
per-replica batch statistics (a plain ``BatchNormalization`` inside, or one declaring
``per_replica_statistics``) is compared in training with what its replicas' own steps on
their shards add up to, not with one device. A target declaring ``batch_dependent`` (each
replica's samples meet only their shard) or ``inference_only`` has no fit comparison and is
saved as built. Fit puts its loss on the outputs every training-based check trains
(``loss_outputs``, else the floating-point outputs along the batch); predict compares the
outputs along the batch (an anchor table comes back once per replica). A step that fails on
one device as well is not a distribution problem: the check is then skipped, naming the
family that reports it.
"""

import contextlib
import functools
import os

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.catalogue import all_checks, contract, get_check
from conformance.checks._common import describe_failure, forward, output_batch_axes, random_in_training, \
    run_step
from conformance.distributed import launcher, per_replica, steps
from conformance.isolation import isolated, scratch_dir
from conformance.outcomes import ContractViolation, NotApplicable, expect
from conformance.traits import declared_skip
from conformance.tensors import as_arrays, mismatch

#: Relative tolerance for values computed again in another order (a split batch's sums).
_FLOAT32 = 1e-5
#: Tolerance on a weight, as a fraction of the largest change one step made to it.
_OF_UPDATE = 1e-3
#: Relative tolerance for outputs computed in batches of another composition.
_OUTPUTS = 1e-4
_BUILT_IN_SCOPE = "the model to be built in the strategy's scope"
_SHARD_HINT = ("each replica computes on its shard of the batch and Keras already scales its loss by "
               "the shard's share: do not divide by a fixed (global) batch size or the replica count, "
               "and draw random numbers with TensorFlow ops, not in Python while tracing")


# -- running in the replicas' process ------------------------------------------------------


def run_in_replicas(spec, replicas):
    """``{check id: what it raised}`` for every check of the family on ``spec`` (None where it
    passed), in the replicas' process (:mod:`conformance.distributed.replica_process` calls it by
    :data:`_RUN_IN_REPLICAS`): a :class:`NotApplicable` or a :class:`ContractViolation`
    naming the replicas, which the process sends back as they are (an exception of the
    target's own, which may not survive the trip, is sent as the violation it stands for)."""
    return {check.id: _raised(check, spec, replicas) for check in all_checks(family="distribution")}


def _raised(check, spec, replicas):
    declared = declared_skip(check, spec)
    if declared:  # the runner skips it by the same rule: no need to run it here
        return NotApplicable(declared)
    try:
        with isolated():
            compat.reset_session()
            check.func.in_replicas(spec, replicas)
    except NotApplicable as exc:
        return exc
    except ContractViolation as violation:
        return ContractViolation(f"{violation.expected}, under {replicas.described}", violation.seen,
                                 violation.hint)
    except Exception as exc:  # noqa: BLE001 - user code raising breaks the contract
        return ContractViolation(f"the contract to hold under {replicas.described}",
                                 f"the target raise {describe_failure(exc)}")
    return None


_RUN_IN_REPLICAS = f"{__name__}:{run_in_replicas.__name__}"


def _start(spec):
    launcher.start(spec, _RUN_IN_REPLICAS)


def prefetch(specs):
    """Run the family on each of ``specs`` in one process (paying TensorFlow's start once)."""
    launcher.prefetch(specs, _RUN_IN_REPLICAS)


def devices(spec):
    """The devices the family ran ``spec`` on (after its checks ran)."""
    return launcher.family_results(spec, _RUN_IN_REPLICAS).devices


def _raise_found(spec, check_id):
    """Raise what ``check_id`` raised on ``spec`` in the replicas' process (nothing if it passed)."""
    if spec.import_path is None:
        raise NotApplicable("runs in a separate process with several replicas, which imports the "
                            "target: give the spec an import_path (the command line does)")
    try:
        results = launcher.family_results(spec, _RUN_IN_REPLICAS)
    except ValueError as exc:
        raise NotApplicable(f"the target cannot be sent to the replicas' process: {exc}") from exc
    if results.skipped is not None:
        raise NotApplicable(results.skipped)
    if results.problem is not None:
        raise ContractViolation(*results.problem)
    found = results.found[check_id]
    if found is not None:
        raise found


def _in_replicas(check):
    """The runner's check for ``check(spec, replicas)``: it raises what ``check`` raised in the
    replicas' process, where :func:`run_in_replicas` runs it (as ``.in_replicas``)."""

    @functools.wraps(check)
    def read_from_replicas(spec):
        _raise_found(spec, check.__name__)

    read_from_replicas.in_replicas = check
    return read_from_replicas


def _fails_on_one_device_too(what, reported_by, exc):
    """Skip: ``what`` raised ``exc`` without any strategy as well, which ``reported_by`` reports."""
    raise NotApplicable(f"{what} fails on one device too ({describe_failure(exc)}); "
                        f"{reported_by} reports it") from exc


# -- variables -----------------------------------------------------------------------------


def _held_variables(layer):
    """``[(name, tf.Variable)]``: the variables the layer tracks, and any variable kept in an
    attribute of it or of a sublayer (Keras 3 does not track a raw ``tf.Variable``)."""
    held = {}
    for variable in layer.variables:
        inner = compat.tf_variable(variable)
        held[id(inner)] = (compat.variable_path(variable), inner)
    for owner in [layer] + compat.sublayers(layer):
        for attribute, value in vars(owner).items():
            if isinstance(value, tf.Variable):
                held.setdefault(id(value), (f"{owner.name}.{attribute}", value))
    return list(held.values())


@contextlib.contextmanager
def _recording_creations(names):
    def creator(next_creator, **kwargs):
        names.append(str(kwargs.get("name") or "an unnamed variable"))
        return next_creator(**kwargs)

    with tf.variable_creator_scope(creator):
        yield


@contract("distribution", tier="full", start=_start)
@_in_replicas
def check_distributed_variables(spec, replicas):
    """Built and called in a ``MirroredStrategy`` scope, every variable of the target is mirrored or sync-on-read, and calls inside the replicas create none."""
    with replicas.strategy.scope():
        layer = run_step("the target to be built and called in the strategy's scope", spec.built)
    plain = [f"{name} (a {type(variable).__name__} on {variable.device or 'no device'})"
             for name, variable in _held_variables(layer)
             if not isinstance(variable, tf.distribute.DistributedValues)]
    expect(not plain, "every variable of a target built and called in the strategy's scope to be "
                      "mirrored or sync-on-read",
           lambda: f"{len(plain)} plain variable(s): {', '.join(plain)}",
           hint="create variables with add_weight() in build(), not at import time or in "
                "__init__ outside Keras; a variable outside the scope lives on one device")
    size = replicas.global_batch(spec)
    values = spec.draw(batch_size=size, seed=steps.DATA_SEED)
    created = []
    with _recording_creations(created):
        for training in (True, False):
            run_step(f"a call with training={training} in each replica's context to run",
                     steps.call_in_replicas, spec, layer, values, size, replicas, training)
    expect(not created, "no variable created by calls inside the replicas' contexts after the first call",
           lambda: f"variables created there: {', '.join(dict.fromkeys(created))}",
           hint="create every variable in build() (or the first call, outside the replicas): "
                "created in a replica context, each replica makes its own copy")


# -- one fit step --------------------------------------------------------------------------


def _gap(initial, expected, seen):
    """How far ``seen`` is from ``expected``, and the tolerance: float32 rounding of the
    values plus a small fraction of the step's own change."""
    difference = float(np.max(np.abs(seen - expected))) if expected.size else 0.0
    change = float(np.max(np.abs(expected - initial))) if expected.size else 0.0
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    return difference, change, _FLOAT32 * scale + _OF_UPDATE * change


def _summary(array):
    return f"{float(array):.6g}" if array.size == 1 else f"values up to {float(np.max(np.abs(array))):.4g}"


def _compare_weights(names, initial, expected, seen, what, trainable):
    for name, start, wanted, found in zip(names, initial, expected, seen):
        difference, change, allowed = _gap(start, wanted, found)
        if difference <= allowed:
            continue
        if trainable:
            raise ContractViolation(
                f"every trainable weight where {what} puts it",
                f"{name} off by up to {difference:.3g} (the step moved it by up to {change:.3g})",
                hint=_SHARD_HINT)
        raise ContractViolation(
            f"every non-trainable variable where {what} puts it",
            f"{name} at {_summary(found)} instead of {_summary(wanted)} (off by up to {difference:.3g})",
            hint="give add_weight() the aggregation that adds the replicas' updates up to one "
                 "device's (\"sum\" for a count of samples, \"only_first_replica\" for a count of "
                 "steps, \"mean\" for a statistic); declare per_replica_statistics for batch "
                 "statistics kept per replica by design")


def _per_replica_reasons(spec, single, distributed, batch, inference_only):
    """Why a distributed step legitimately differs from one device's (none if it does not):
    statistics of each replica's shard, declared or inside, or a masked loss."""
    reasons = []
    if spec.has_trait("per_replica_statistics"):
        reasons.append("declared per-replica statistics")
    if not inference_only and compat.per_replica_statistics_layers(distributed):
        reasons.append("per-replica BatchNormalization statistics")
    if per_replica.outputs_masked(spec, single, batch.values):
        reasons.append("a masked loss averaged per replica")
    return reasons


def _random_in_training(spec):
    """Whether the fit comparison must call the target with ``training=False``: the decider
    of every family (:func:`~conformance.checks._common.random_in_training`), asked of the
    target traced once, as fit traces its step. Numbers drawn in Python while tracing are
    then a constant of the trace, not randomness of the target: each replica traces the
    step on its own and bakes in other numbers, which the comparison in training catches."""
    instance = spec.built()
    random = random_in_training(spec, tf.function(lambda *args, **kwargs: instance(*args, **kwargs)))
    if random and spec.has_trait("stochastic_inference"):
        raise NotApplicable("random in training and in inference (stochastic_inference): replicas "
                            "draw their own random numbers by design")
    return random


@contract("distribution", tier="full", start=_start, skipped_by=("inference_only", "batch_dependent"))
@_in_replicas
def check_distributed_fit_matches_one_device(spec, replicas):
    """One ``fit`` step on a global batch split over the replicas gives the loss, trainable weights and non-trainable state of one step on one device."""
    inference_only = _random_in_training(spec)
    weights = steps.initial_weights(spec)
    batch = steps.training_batch(spec, weights, replicas.global_batch(spec))
    if not batch.trainable:
        raise NotApplicable("no floating-point output with a batch axis to put a loss on "
                            "(name one with loss_outputs): there is no loss to fit")
    single = steps.model(spec, weights, inference_only=inference_only)
    initial_trainable, initial_state = steps.weights_of(single)
    try:
        one_device = steps.fit_step(spec, single, batch)
    except Exception as exc:  # noqa: BLE001 - not a distribution problem
        _fails_on_one_device_too("one fit step", "the gradients family", exc)
    distributed = run_step(_BUILT_IN_SCOPE, steps.model, spec, weights, replicas, inference_only)
    seen = run_step("one fit step to run under the strategy",
                    steps.fit_step, spec, distributed, batch, replicas)
    reasons = _per_replica_reasons(spec, single, distributed, batch, inference_only)
    if reasons:
        aggregations = [per_replica.aggregation(v) for v in distributed.non_trainable_weights]
        fresh = steps.model(spec, weights, inference_only=inference_only)
        expected = per_replica.replicas_step(spec, fresh, batch, replicas, aggregations)
        what = f"each replica's own step on its shard, combined ({' and '.join(reasons)})"
    else:
        expected, what = one_device, "one fit step on one device"
    what += f" (global batch {batch.size}, shards of {batch.size // replicas.count}"
    what += ", training=False: the target is random in training)" if inference_only else ")"
    expect(abs(seen.loss - expected.loss) <= 10 * _FLOAT32 * max(1.0, abs(expected.loss)),
           f"a loss of {expected.loss:.6g} as in {what}", f"a loss of {seen.loss:.6g}", hint=_SHARD_HINT)
    _compare_weights([compat.variable_path(v) for v in distributed.trainable_weights], initial_trainable,
                     expected.trainable, seen.trainable, what, trainable=True)
    _compare_weights([compat.variable_path(v) for v in distributed.non_trainable_weights], initial_state,
                     expected.non_trainable, seen.non_trainable, what, trainable=False)


# -- inference -----------------------------------------------------------------------------


@contract("distribution", tier="full", start=_start, skipped_by=("stochastic_inference", "batch_dependent"))
@_in_replicas
def check_distributed_predict_matches_one_device(spec, replicas):
    """``predict`` under the strategy, on a batch the replica count does not divide, gives the single-device outputs."""
    weights = steps.initial_weights(spec)
    size = replicas.uneven_batch(spec)
    values = spec.draw(batch_size=size, seed=steps.DATA_SEED + 1)
    try:
        single = steps.model(spec, weights)
        expected = as_arrays(steps.predict(spec, single, values, size))
        along = output_batch_axes(spec, single)
        batched = [i for i, axes in enumerate(along) if axes == (0,)] if len(along) == len(expected) \
            else list(range(len(expected)))
    except Exception as exc:  # noqa: BLE001 - not a distribution problem
        _fails_on_one_device_too("predict", "the model family", exc)
    if not batched:
        raise NotApplicable("no output along the batch: predict under the strategy returns an "
                            "output without a batch axis once per replica")
    distributed = run_step(_BUILT_IN_SCOPE, steps.model, spec, weights, replicas)
    seen = run_step(f"predict to run under the strategy on a batch of {size}",
                    lambda: as_arrays(steps.predict(spec, distributed, values, size, replicas)))
    # predict concatenates what each replica returns: an output without a batch axis (an
    # anchor table) comes back once per replica, so only the outputs along the batch compare.
    if len(seen) == len(expected):
        expected, seen = [expected[i] for i in batched], [seen[i] for i in batched]
    difference = mismatch(expected, seen, _OUTPUTS)
    expect(not difference, f"the single-device outputs of predict on a batch of {size}, which "
                           f"{replicas.count} replicas share unevenly", difference,
           hint="an output must not depend on which shard of the batch a replica computes it "
                "in: no batch statistics in inference, no constants drawn in Python while tracing")


# -- saving --------------------------------------------------------------------------------


def _weights_difference(expected, seen):
    if len(expected) != len(seen):
        return f"{len(seen)} weights instead of {len(expected)}"
    for index, (a, b) in enumerate(zip(expected, seen)):
        tolerance = _FLOAT32 * max(1.0, float(np.max(np.abs(a), initial=0)))
        if a.shape != b.shape or not np.allclose(a, b, rtol=0, atol=tolerance):
            return f"weight {index} differing by up to {float(np.max(np.abs(a - b))):.3g}"
    return None


def _save_and_load(spec, built, path, values):
    """(weights, outputs) of ``built``, and the model loaded from the ``.keras`` file it saved."""
    compat.save_model(built, path)
    return built.get_weights(), forward(spec, built, values), compat.load_model(path)


def _trained(spec, built, batch, replicas=None):
    """``built`` after one fit step, where the target trains: else saved as built (no output
    has a loss to fit, or a declaration skips the fit contract)."""
    if batch.trainable and not _fit_declared_away(spec):
        steps.fit_step(spec, built, batch, replicas)
    return built


def _fit_declared_away(spec):
    return declared_skip(get_check("check_distributed_fit_matches_one_device"), spec) is not None


def _skip_if_one_device_fails_too(spec, weights, batch, path, values):
    try:
        _save_and_load(spec, _trained(spec, steps.model(spec, weights), batch), path, values)
    except Exception as exc:  # noqa: BLE001 - not a distribution problem
        _fails_on_one_device_too("saving and loading a trained model", "check_keras_save_load", exc)


@contract("distribution", tier="full", start=_start, skipped_by=("stochastic_inference",))
@_in_replicas
def check_distributed_save_load(spec, replicas):
    """A model built and trained under the strategy saves as ``.keras`` and loads outside it with the same weights and outputs."""
    weights = steps.initial_weights(spec)
    batch = steps.training_batch(spec, weights, replicas.global_batch(spec))
    distributed = run_step(_BUILT_IN_SCOPE, steps.model, spec, weights, replicas)
    try:
        _trained(spec, distributed, batch, replicas)
    except Exception as exc:  # noqa: BLE001 - the fit contract reports it
        raise NotApplicable(f"the model does not train under the strategy ({describe_failure(exc)}); "
                            "check_distributed_fit_matches_one_device reports it") from exc
    folder = scratch_dir()
    values = spec.draw(seed=steps.DATA_SEED + 2)
    try:
        path = os.path.join(folder, "distributed.keras")
        saved, expected, loaded = _save_and_load(spec, distributed, path, values)
    except Exception as exc:  # noqa: BLE001 - a distribution problem only if one device can
        _skip_if_one_device_fails_too(spec, weights, batch, os.path.join(folder, "one_device.keras"), values)
        raise ContractViolation("the model trained under the strategy to save as .keras and load outside it",
                                describe_failure(exc)) from exc
    difference = _weights_difference(saved, loaded.get_weights())
    expect(difference is None, "the weights trained under the strategy after loading outside it", difference)
    seen = run_step("the loaded model to run outside the strategy", forward, spec, loaded, values)
    difference = mismatch(expected, seen, _FLOAT32)
    expect(not difference, "the outputs of the model trained under the strategy from the model "
                           "loaded outside it", difference,
           hint="what the layer computes must follow from its config and weights alone, never "
                "from the strategy or the replica count it was built under")
