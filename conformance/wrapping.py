"""Training a target inside a model: losses and targets shaped like its outputs, one fit step."""

import warnings

import numpy as np

from conformance.inputs import CallInputs
from conformance.tensors import as_arrays
from keras_compat import keras


def ensure_model(obj, input_shapes):
    """``obj`` itself when it is a model, else ``obj`` wrapped in a Functional model that
    calls it on positional float inputs of ``input_shapes`` (batch first)."""
    if isinstance(obj, keras.Model):
        return obj
    return CallInputs.of(input_shapes=input_shapes).wrap(obj)


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


def losses_and_targets(outputs, seed=0):
    """``"mse"`` for every output, and random targets, both in the structure of ``outputs``
    (one tensor, a list or tuple, or a dict)."""
    if isinstance(outputs, dict):
        keys = sorted(outputs)
        targets = targets_for([outputs[k] for k in keys], "mse", seed)
        targets = targets if len(keys) > 1 else [targets]
        return {k: "mse" for k in keys}, dict(zip(keys, targets))
    if isinstance(outputs, (list, tuple)):
        targets = targets_for(list(outputs), "mse", seed)
        targets = targets if len(outputs) > 1 else [targets]
        return ["mse"] * len(outputs), type(outputs)(targets)
    return "mse", targets_for(outputs, "mse", seed)


def fit_one_step(spec, instance, seed=1, learning_rate=0.1):
    """Compile the target's model (SGD, mean squared error, no XLA) and run one training
    step of ``fit`` on one batch of random targets: ``train_on_batch``, the same traced
    ``train_step`` without the epoch loop and its callbacks. (Not run eagerly: a
    ``train_step`` that works only eagerly would then pass.) Returns the model."""
    model = spec.model_of(instance)
    inputs = spec.draw(seed=seed)
    losses, targets = losses_and_targets(spec.call(model, inputs, training=False), seed=seed + 1)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss=losses,
                  jit_compile=False)
    with warnings.catch_warnings():  # "the model does not have any trainable weights"
        warnings.simplefilter("ignore", UserWarning)
        model.train_on_batch(spec.model_data(model, inputs), targets)
    return model
