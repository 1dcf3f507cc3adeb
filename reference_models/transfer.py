"""Copy weights between two forms of one architecture, checking they line up."""

import numpy as np

from keras_compat import dtype_name


def _groups(obj):
    # Trainable and non-trainable weights are paired separately: on Keras 2 ``weights`` of
    # a subclassed layer lists all trainable weights first, a Functional model lists them
    # layer by layer, while each of the two groups is in layer order on both versions.
    return {"trainable": obj.trainable_weights, "non-trainable": obj.non_trainable_weights}


def check_compatible(source, target):
    """Raise ``ValueError`` naming the first weight that does not line up."""
    for group, source_weights in _groups(source).items():
        target_weights = _groups(target)[group]
        if len(source_weights) != len(target_weights):
            raise ValueError(
                f"cannot copy weights: source has {len(source_weights)} {group} weights, "
                f"target has {len(target_weights)}"
            )
        for index, (a, b) in enumerate(zip(source_weights, target_weights)):
            if tuple(a.shape) != tuple(b.shape):
                raise ValueError(
                    f"cannot copy weights: {group} weight {index} is {tuple(a.shape)} in "
                    f"source, {tuple(b.shape)} in target"
                )


def copy_weights(source, target):
    """Give ``target`` the weights of ``source``; both must be built."""
    check_compatible(source, target)
    for group, source_weights in _groups(source).items():
        for src, dst in zip(source_weights, _groups(target)[group]):
            dst.assign(src.numpy())


def randomize_weights(obj, seed=0, low=0.5, high=1.5):
    """Overwrite every weight with values drawn uniformly from [low, high).

    Positive values keep batch-normalisation variances valid; distinct values make a
    weight that was copied to the wrong place visible in the outputs.
    """
    rng = np.random.default_rng(seed)
    for weight in obj.weights:
        values = rng.uniform(low, high, size=tuple(weight.shape))
        weight.assign(values.astype(dtype_name(weight.dtype)))
