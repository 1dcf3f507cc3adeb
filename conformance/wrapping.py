"""Training a target inside a model: losses and targets shaped like its outputs, one fit step."""

import warnings

import numpy as np

import keras_compat as compat
from conformance.inputs import CallInputs
from conformance.tensors import as_arrays, flatten, flatten_with_paths, select_outputs
from keras_compat import keras, register_serializable


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


def losses_and_targets(outputs, seed=0, spec=None, batch_size=None):
    """A loss and random targets for the outputs of a model, both in the structure of
    ``outputs`` (one tensor, a list or tuple, a dict, or any nesting of them).

    Outputs that carry a loss (:func:`trained_outputs`) get ``"mse"`` and real-valued
    targets shaped like them. The others get no loss (``None``) and a target all the
    same (``fit`` slices every target with the batch: one with no batch axis gets a
    placeholder of the batch's length), so the targets keep the structure Keras matches
    them to.
    """
    leaves = flatten(outputs)
    trained = trained_outputs(spec, outputs, batch_size)
    batch = batch_size if batch_size is not None else next(
        (int(leaves[i].shape[0]) for i in trained if len(leaves[i].shape)), None)
    rng = np.random.default_rng(seed)
    positions = iter(range(len(leaves)))

    def place(node):
        if isinstance(node, dict):  # visited in flatten's (sorted) order
            placed = {key: place(node[key]) for key in sorted(node, key=str)}
            return ({key: placed[key][0] for key in node}, {key: placed[key][1] for key in node})
        if isinstance(node, (list, tuple)):
            pairs = [place(item) for item in node]
            return type(node)(p[0] for p in pairs), type(node)(p[1] for p in pairs)
        if node is None:
            return None, None
        index = next(positions)
        shape = tuple(int(d) for d in node.shape)
        target = rng.standard_normal(shape).astype("float32")
        if index in trained:
            return "mse", target
        if shape and shape[0] == batch or batch is None:
            return None, target
        # no loss on it, but fit slices every target with the batch (Keras 2 wants one)
        return None, np.zeros((batch,), "float32")

    return place(outputs)


def _is_floating(tensor):
    dtype = getattr(tensor, "dtype", None)
    return dtype is not None and "float" in compat.dtype_name(dtype)


def trained_outputs(spec, outputs, batch_size=None):
    """Positions (in :func:`~conformance.tensors.flatten`'s list) of the outputs the
    training-based checks put a loss on: those ``spec.loss_outputs`` names; else every
    floating-point output with a batch axis (its leading size is ``batch_size`` when given),
    but those the spec declares unbatched. Without a spec, every output."""
    leaves = flatten(outputs)
    if spec is None:  # no declarations to follow: every output, as a plain fit would
        return list(range(len(leaves)))
    names = getattr(spec, "loss_outputs", None)
    if names:
        return select_outputs(outputs, names)
    declared = getattr(spec, "unbatched_outputs", ())
    unbatched = set(select_outputs(outputs, declared)) if declared else set()
    return [i for i, leaf in enumerate(leaves)
            if _is_floating(leaf) and len(leaf.shape) and i not in unbatched
            and (batch_size is None or leaf.shape[0] is None or int(leaf.shape[0]) == batch_size)]


def _fits(mask, output):
    """Whether Keras can weigh ``output``'s loss by ``mask``: the mask's shape leads the
    output's (a ``(batch, time)`` mask on ``(batch, time, features)``)."""
    mask_shape, shape = tuple(mask.shape), tuple(output.shape)
    return len(mask_shape) <= len(shape) and all(
        m is None or s is None or m == s for m, s in zip(mask_shape, shape[:len(mask_shape)]))


def trainable_output(output):
    """``output`` itself, or a copy without its Keras mask when that mask does not fit it
    (attention scores ``(batch, heads, queries, keys)`` carrying a ``(batch, keys)``
    padding mask): ``fit`` would weigh the loss by the mask and fail on the shapes."""
    mask = compat.keras_mask(output)
    if mask is None or _fits(mask, output):
        return output
    import tensorflow as tf

    return tf.identity(output)


def _without_none(outputs):
    """``outputs`` without its None leaves (None when nothing is left), each tensor passed
    through :func:`trainable_output`."""
    if isinstance(outputs, dict):
        kept = {key: _without_none(value) for key, value in outputs.items()}
        return {key: value for key, value in kept.items() if value is not None} or None
    if isinstance(outputs, (list, tuple)):
        kept = [item for item in map(_without_none, outputs) if item is not None]
        return type(outputs)(kept) if kept else None
    return None if outputs is None else trainable_output(outputs)


@register_serializable(package="keras_conformance")
class TensorOutputs(keras.layers.Layer):
    """Calls the target as its :class:`~conformance.inputs.CallInputs` say, and passes its
    outputs on without ``None`` leaves (Keras's Functional API takes tensors only) and
    without Keras masks that do not fit their output: how a target returning ``(outputs,
    None)`` or masked attention scores is put in a model to train.

    It takes one dict, ``{input key: tensor}`` of the inputs that carry the batch, and
    puts every input in its place itself: the ``!unbatched`` ones (the same values in
    every call, so its config holds their descriptions, not their values), tuple
    arguments (a saved Functional model would give them back as lists), and the constant
    call keywords. So it saves, loads and calls alike on Keras 2 and Keras 3."""

    def __init__(self, layer, inputs, call_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer
        self.call_inputs = CallInputs(list(inputs), call_kwargs)

    def call(self, inputs):
        values = {key: spec.draw(np.random.default_rng(0)) for key, spec in self.call_inputs
                  if not spec.batched}
        values.update(inputs)
        return _without_none(self.call_inputs.call(self.layer, values))

    def get_config(self):
        return {**super().get_config(), "layer": keras.layers.serialize(self.layer),
                "inputs": self.call_inputs.texts(), "call_kwargs": dict(self.call_inputs.call_kwargs)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.layers.deserialize(config["layer"])
        return cls(**config)


def needs_adapter(outputs):
    """Whether symbolic ``outputs`` of a target hold ``None`` (Keras 2 builds such a model,
    but cannot fit it) or a Keras mask that does not fit its output, so that a model
    training on it needs :class:`TensorOutputs`."""
    # Keras 2 stands a symbolic None for a None output: a tensor with neither shape nor dtype
    if any(getattr(leaf, "dtype", None) is None for leaf in flatten(outputs, keep_none=True)):
        return True
    return any(compat.keras_mask(leaf) is not None and not _fits(compat.keras_mask(leaf), leaf)
               for leaf in flatten(outputs))


def fit_one_step(spec, instance, seed=1, learning_rate=0.1, optimizer=None):
    """Compile the target's model (SGD, mean squared error, no XLA) and run one training
    step of ``fit`` on one batch of random targets: ``train_on_batch``, the same traced
    ``train_step`` without the epoch loop and its callbacks. (Not run eagerly: a
    ``train_step`` that works only eagerly would then pass.) Returns the model."""
    model = spec.model_of(instance)
    inputs = spec.draw(seed=seed)
    losses, targets = losses_and_targets(spec.call(model, inputs, training=False), seed=seed + 1,
                                         spec=spec, batch_size=spec.batch_size)
    optimizer = keras.optimizers.SGD(learning_rate=learning_rate) if optimizer is None else optimizer
    model.compile(optimizer=optimizer, loss=losses,
                  jit_compile=False)
    with warnings.catch_warnings():  # "the model does not have any trainable weights"
        warnings.simplefilter("ignore", UserWarning)
        model.train_on_batch(spec.model_data(model, inputs), targets)
    return model
