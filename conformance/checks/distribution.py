"""Distribution: the target under ``tf.distribute.MirroredStrategy`` behaves as on one device.

TensorFlow fixes its devices when it starts, so these checks run in a worker process of
their own with several replicas: two logical CPU devices, or the visible GPUs when there
are two or more (see :mod:`conformance.distributed`). The runner starts that worker in the
background as soon as the run begins, and it runs them all beside the other families; each
check reads its results. The target
must be importable in that process: the spec needs an ``import_path``.

A target random in training (dropout, noise) is trained with ``training=False`` in the fit
comparison, since each replica draws its own random numbers by design. A target with
per-replica batch statistics (a plain ``BatchNormalization`` inside, or one declaring
``per_replica_statistics``) is compared in training with what its replicas' own steps on
their shards add up to, not with one device.
"""

from conformance.catalogue import contract
from conformance.distributed import launcher
from conformance.outcomes import ContractViolation, NotApplicable


def _verdict(spec, check_id):
    """Raise what the worker found for ``check_id`` on ``spec`` (nothing if it passed)."""
    if spec.import_path is None:
        raise NotApplicable("runs in a separate process with several replicas, which imports the "
                            "target: give the spec an import_path (the command line does)")
    try:
        results = launcher.family_results(spec)
    except ValueError as exc:
        raise NotApplicable(f"the target cannot be sent to the replicas' process: {exc}") from exc
    outcome = results.outcome(check_id)
    if outcome["status"] == "skipped":
        raise NotApplicable(outcome["reason"])
    if outcome["status"] == "failed":
        raise ContractViolation(outcome["expected"], outcome["seen"], outcome.get("hint"))


@contract("distribution", tier="full", start=launcher.start)
def check_distributed_variables(spec):
    """Built and called in a ``MirroredStrategy`` scope, every variable of the target is mirrored or sync-on-read, and calls inside the replicas create none."""
    _verdict(spec, "check_distributed_variables")


@contract("distribution", tier="full", start=launcher.start)
def check_distributed_fit_matches_one_device(spec):
    """One ``fit`` step on a global batch split over the replicas gives the loss, trainable weights and non-trainable state of one step on one device."""
    _verdict(spec, "check_distributed_fit_matches_one_device")


@contract("distribution", tier="full", start=launcher.start)
def check_distributed_predict_matches_one_device(spec):
    """``predict`` under the strategy, on a batch the replica count does not divide, gives the single-device outputs."""
    _verdict(spec, "check_distributed_predict_matches_one_device")


@contract("distribution", tier="full", start=launcher.start)
def check_distributed_save_load(spec):
    """A model built and trained under the strategy saves as ``.keras`` and loads outside it with the same weights and outputs."""
    _verdict(spec, "check_distributed_save_load")
