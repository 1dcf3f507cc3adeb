"""One target built, trained and run on one device and under a MirroredStrategy.

Every run starts from the same weights (those of a seeded single-device build), takes the
same inputs and targets, and trains one step of plain SGD on a mean-squared-error loss
without shuffling or XLA, so that a one-device run and a distributed run differ only in
how the global batch is split over the replicas.
"""

import contextlib
import math
import warnings
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.inputs import CallInputs
from conformance.wrapping import losses_and_targets, trained_outputs
from keras_compat import keras

LEARNING_RATE = 0.05
#: Seeds of the global batch, its targets and the initial weights.
DATA_SEED, TARGET_SEED, WEIGHTS_SEED = 11, 12, 13


class Replicas:
    """A MirroredStrategy over ``devices``, and how to name it in messages."""

    def __init__(self, devices):
        self.devices = list(devices)
        self.strategy = tf.distribute.MirroredStrategy(self.devices)
        self.count = self.strategy.num_replicas_in_sync

    @property
    def described(self):
        return f"MirroredStrategy with {self.count} replicas ({', '.join(self.devices)})"

    def global_batch(self, spec):
        """A global batch of at least two samples per replica, split evenly."""
        return self.count * max(2, math.ceil(spec.batch_size / self.count))

    def uneven_batch(self, spec):
        """A batch the replica count does not divide, with a sample for every replica."""
        return self.count * max(1, math.ceil(spec.batch_size / self.count)) + 1

    def distributed_batch(self, inputs, targets, batch_size):
        """The global batch ``(inputs, targets)`` (or ``inputs`` alone, ``targets`` None) as a
        distributed dataset of one step, each replica fed its shard (see :meth:`shards`)
        from its own pipeline on its own device. ``fit`` and ``predict`` take it as it is.
        (Given the arrays, they cut the same shards through a multi-device iterator, which
        costs about a second per call on two CPU replicas.)"""
        inputs = self.shards(inputs, batch_size)
        targets = None if targets is None else self.shards(targets, batch_size)

        def shard_of_replica(context):
            replica = context.input_pipeline_id
            if targets is None:
                return tf.data.Dataset.from_tensors((_tuples(inputs[replica]),))
            return tf.data.Dataset.from_tensors((_tuples(inputs[replica]), _tuples(targets[replica])))

        options = tf.distribute.InputOptions(
            experimental_fetch_to_device=False,
            experimental_replication_mode=tf.distribute.InputReplicationMode.PER_REPLICA)
        return self.strategy.distribute_datasets_from_function(shard_of_replica, options)

    def shards(self, structure, batch_size):
        """``structure`` (an array, a list or a dict of arrays) cut the way the strategy
        cuts a global batch: contiguous shards in replica order, equal when the replica
        count divides the batch, else the first ones a sample larger."""
        size, extra = divmod(batch_size, self.count)
        bounds = np.cumsum([0] + [size + (replica < extra) for replica in range(self.count)])
        return [_take(structure, slice(bounds[r], bounds[r + 1])) for r in range(self.count)]


def _tuples(structure):
    """``structure`` with its lists made tuples: tf.data takes a list for one tensor, where
    fit takes it for several inputs or outputs."""
    if isinstance(structure, dict):
        return {key: _tuples(value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return tuple(_tuples(value) for value in structure)
    return structure


def _take(structure, index):
    if isinstance(structure, dict):
        return {key: _take(value, index) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_take(value, index) for value in structure)
    return structure[index]


# -- models ------------------------------------------------------------------------------


def initial_weights(spec):
    """The weights every run starts from: a seeded build of the target on one device."""
    keras.utils.set_random_seed(WEIGHTS_SEED)
    return spec.model_of(spec.built()).get_weights()


def scope(replicas):
    """The strategy's scope, or none for a single-device run (``replicas`` None)."""
    return replicas.strategy.scope() if replicas is not None else contextlib.nullcontext()


def model(spec, weights, replicas=None, inference_only=False):
    """A model of a new instance holding ``weights``, built under ``replicas``' scope
    when given. ``inference_only`` calls the target with ``training=False`` even in fit."""
    with scope(replicas):
        instance = spec.built()
    if replicas is not None and _wrapped_outside_scope(spec):
        built = _inference_model(spec, instance) if inference_only else spec.inputs.wrap(instance)
    else:
        with scope(replicas):
            built = _inference_model(spec, instance) if inference_only else spec.model_of(instance)
    built.set_weights(weights)
    return built


def _wrapped_outside_scope(spec):
    """Whether the model around the target must be made outside the strategy's scope (its
    variables, the target's and the optimizer's, are still made inside it), because Keras
    cannot fit a model made inside it on these inputs."""
    return compat.SCOPED_MODEL_FIT_REFUSES_BOOL_INPUTS and any(item.is_bool for _, item in spec.inputs)


def _inference_model(spec, instance):
    """A Functional model calling ``instance`` with ``training=False`` whatever mode fit
    runs it in, so fit trains its weights without the randomness it has in training."""
    # Keras 2 keeps the training=False only of a call that declares ``training``: a target
    # without it would run its sublayers' dropout in fit, so it goes through _InInference.
    if compat.FUNCTIONAL_KEEPS_EXPLICIT_TRAINING and spec.call_accepts("training"):
        symbols = spec.inputs.symbolic()
        outputs = spec.call(instance, symbols, training=False)
        return keras.Model(spec.inputs.model_structure(symbols), outputs)
    return spec.inputs.wrap(_InInference(instance))


class _InInference(keras.layers.Layer):
    """Calls the wrapped target with ``training=False`` on every call."""

    def __init__(self, target, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    def call(self, *args, **kwargs):
        kwargs.pop("training", None)
        return self.target(*args, training=False, **kwargs)


# -- training ------------------------------------------------------------------------------


@dataclass
class Batch:
    """The global batch of a fit step: inputs, targets and the losses per output (None on
    an output without one), and whether any output carries a loss."""

    values: dict
    targets: object
    losses: object
    size: int
    trainable: bool


def training_batch(spec, weights, size):
    """A global batch of ``size`` samples, with random targets shaped like the outputs, and
    a loss on the outputs the training-based checks train (those the spec names in
    ``loss_outputs``, else the floating-point outputs with a batch axis:
    :func:`~conformance.wrapping.trained_outputs`)."""
    values = spec.draw(batch_size=size, seed=DATA_SEED)
    outputs = spec.call(model(spec, weights), values, training=False)
    losses, targets = losses_and_targets(outputs, seed=TARGET_SEED, spec=spec, batch_size=size)
    return Batch(values, targets, losses, size, bool(trained_outputs(spec, outputs, size)))


@dataclass
class Step:
    """Where one training step left a model: its loss, and its weights as NumPy arrays."""

    loss: float
    trainable: list
    non_trainable: list


def weights_of(built):
    """(trainable, non-trainable) weights of ``built`` as NumPy arrays."""
    return [value(v) for v in built.trainable_weights], [value(v) for v in built.non_trainable_weights]


def value(variable):
    # np.array() cannot read a sync-on-read variable; a conversion to a tensor aggregates it.
    return np.array(tf.convert_to_tensor(compat.tf_variable(variable)))


def fit_step(spec, built, batch, replicas=None):
    """One ``fit`` step of SGD on the whole batch (under ``replicas``' scope when given)."""
    with scope(replicas), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "the model does not have any trainable weights"
        built.compile(optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE), loss=batch.losses,
                      jit_compile=False)
        inputs = spec.model_data(built, batch.values)
        if replicas is None:
            history = built.fit(inputs, batch.targets, batch_size=batch.size, epochs=1, shuffle=False,
                                verbose=0)
        else:
            history = built.fit(replicas.distributed_batch(inputs, batch.targets, batch.size),
                                epochs=1, steps_per_epoch=1, verbose=0)  # Keras 2 needs the steps
    return Step(float(history.history["loss"][0]), *weights_of(built))


def predict(spec, built, values, batch_size, replicas=None):
    """``built.predict`` on ``values`` in batches of ``batch_size`` (under ``replicas``' scope,
    the batch shared out as :meth:`Replicas.shards` says)."""
    inputs = spec.model_data(built, values)
    with scope(replicas):
        if replicas is None or not compat.PREDICT_TAKES_UNEVEN_SHARDS:
            return built.predict(inputs, batch_size=batch_size, verbose=0)
        return built.predict(replicas.distributed_batch(inputs, None, batch_size), steps=1, verbose=0)


# -- calls inside the replicas -------------------------------------------------------------


def call_in_replicas(spec, layer, values, batch_size, replicas, training):
    """``layer`` called on each replica's shard of ``values`` inside ``strategy.run`` in a
    ``tf.function``, as fit's step calls it (inputs without a batch axis whole)."""
    strategy = replicas.strategy
    batched = {key: values[key] for key in spec.inputs.batched_keys}
    shards = [CallInputs.as_tensors({key: shard.get(key, value) for key, value in values.items()})
              for shard in replicas.shards(batched, batch_size)]
    distributed = strategy.experimental_distribute_values_from_function(
        lambda context: shards[context.replica_id_in_sync_group])

    @tf.function
    def step(per_replica):
        return strategy.run(lambda shard: spec.call(layer, shard, training=training), args=(per_replica,))

    with strategy.scope():
        return step(distributed)
