"""Putting a bare layer inside a model, and making data to train and evaluate one."""

import numpy as np

from keras_compat import keras
from conformance.tensors import as_arrays


def wrap_in_model(layer, input_shapes, name=None):
    """A Functional model whose only job is to call ``layer`` (shapes include the batch)."""
    inputs = [keras.Input(shape=tuple(shape[1:])) for shape in input_shapes]
    outputs = layer(inputs[0] if len(inputs) == 1 else inputs)
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs, name=name)


def ensure_model(obj, input_shapes):
    """``obj`` itself when it is a model, else ``obj`` wrapped in one."""
    return obj if isinstance(obj, keras.Model) else wrap_in_model(obj, input_shapes)


def _loss_name(loss):
    if isinstance(loss, str):
        return loss
    return type(loss).__name__ if not callable(loss) or hasattr(loss, "get_config") else loss.__name__


def targets_for(outputs, loss="mse", seed=0):
    """Targets shaped for ``loss`` given the model's outputs on the training inputs.

    Sparse categorical losses get integer labels, categorical ones one-hot rows, anything
    else real values shaped like the outputs. ``loss`` may be a list, one per output.
    """
    rng = np.random.default_rng(seed)
    outputs = as_arrays(outputs)
    losses = loss if isinstance(loss, (list, tuple)) else [loss] * len(outputs)
    targets = []
    for out, one_loss in zip(outputs, losses):
        name = _loss_name(one_loss).lower().replace("_", "")
        classes = out.shape[-1]
        if "sparsecategorical" in name:
            targets.append(rng.integers(0, classes, size=out.shape[:-1]))
        elif "categorical" in name:
            targets.append(np.eye(classes, dtype="float32")[rng.integers(0, classes, out.shape[:-1])])
        else:
            targets.append(rng.standard_normal(out.shape).astype("float32"))
    return targets[0] if len(targets) == 1 else targets
