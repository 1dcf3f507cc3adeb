"""The traits a user may declare, because the checker cannot detect them: the one place
that names them and says what each means.

A trait either skips whole checks or changes how a check runs. A check that a trait skips
says so where it is registered (``@contract(..., skipped_by=("batch_dependent",))``) and
the runner skips it with :func:`declared_skip`'s reason; which checks a trait skips is read
from the catalogue (:func:`conformance.catalogue.checks_skipped_by`). A trait that changes
how a check runs (``float32_outputs``, ``per_replica_statistics``, ...) is read by the
check itself with ``spec.has_trait``. Adding a trait: one line here, then the checks it
concerns.
"""

#: Traits a user may declare because the checker cannot detect them. Each one turns the
#: checks it concerns into skips that say so.
DECLARABLE_TRAITS = {
    "batch_dependent": "inference output of a sample depends on the rest of its batch",
    "not_xla_compatible": "cannot be compiled with XLA (jit_compile=True) by design",
    "stochastic_inference": "inference output is random by design",
    "stateful_inference": "inference updates variables by design",
    "no_float64": "does not support a float64 dtype policy by design",
    "no_mixed_precision": "does not support mixed precision by design",
    "float32_outputs": "keeps floating-point outputs in float32 under mixed precision (and "
                       "under float64) by design (a float32 residual stream, box coordinates); "
                       "its variables are still checked",
    "training_by_default": "a call without a training argument trains by design (call(x, "
                           "training=True), like Keras's augmentation layers); fit and predict pass it",
    "non_finite_outputs": "outputs may hold infinities or NaN by design (e.g. masked logits of -inf)",
    "per_replica_statistics": "under tf.distribute, training uses statistics of each replica's shard "
                              "of the batch by design (like plain BatchNormalization)",
    "inference_only": "the call mode checked is inference only (e.g. a cache update with no "
                      "gradient): the training-based checks do not apply",
}

#: The checks that train the target or take its gradients: ``inference_only`` skips them.
TRAINING_BASED_CHECKS = frozenset({
    "check_gradients_nonzero", "check_gradients_match_finite_differences",
    "check_fit_updates_trainable_weights", "check_trainable_false_freezes",
    "check_training_updates_nested_state", "check_reference_gradients",
    "check_distributed_fit_matches_one_device", "check_model_compile_fit_evaluate_predict",
})


def declared_reason(trait):
    """The skip reason a declared ``trait`` gives: ``declared NAME: <description>``."""
    return f"declared {trait}: {DECLARABLE_TRAITS[trait]}"


def declared_skip(check, spec):
    """Why a trait ``spec`` declares makes ``check`` (a registered check) not apply, or None:
    ``inference_only`` for the training-based checks, then each of ``check.skipped_by`` in
    its order."""
    if check.id in TRAINING_BASED_CHECKS and spec.has_trait("inference_only"):
        return declared_reason("inference_only")
    for trait in check.skipped_by:
        if spec.has_trait(trait):
            return declared_reason(trait)
    return None
