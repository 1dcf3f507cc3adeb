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
    "float32_sublayers": "keeps some sublayers in float32 under every policy by design (given "
                         "dtype='float32' explicitly), also when the layer is given float64",
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
    "fixed_length": "takes its inputs' sequence (length) axes at the example length only, by "
                    "design (weights or a reshape sized by the length)",
    "tensorflow_only": "written for Keras's TensorFlow backend only, by design (TensorFlow ops in "
                       "call): the JAX and PyTorch comparisons (the backends family) do not apply",
}

#: Traits decided with the tier and the kind, before the target is built and probed: a
#: target declared inference only is not trained, usable or not. The others are decided
#: after the probe (an unusable target's checks report that it is unusable).
DECIDED_BEFORE_PROBE = frozenset({"inference_only"})


def declared_reason(trait):
    """The skip reason a declared ``trait`` gives: ``declared NAME: <description>``."""
    return f"declared {trait}: {DECLARABLE_TRAITS[trait]}"


def declared_skip(check, spec, before_probe=False):
    """Why a trait ``spec`` declares makes ``check`` (a registered check) not apply, or None:
    the first of ``check.skipped_by`` declared (of :data:`DECIDED_BEFORE_PROBE` only, with
    ``before_probe``)."""
    for trait in check.skipped_by:
        if spec.has_trait(trait) and (not before_probe or trait in DECIDED_BEFORE_PROBE):
            return declared_reason(trait)
    return None
