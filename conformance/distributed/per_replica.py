"""What a distributed step does when the replicas legitimately differ, computed on one device.

Each replica normalises by its own shard when a layer keeps batch statistics per replica
(plain ``BatchNormalization``, or a target declaring ``per_replica_statistics``), and fit
averages a masked output's loss over the kept positions of each shard: neither can match
one device's step on the whole batch. The expectation is then each replica's own step:
its shard run forward in training from the same weights, the gradients averaged over the
replicas (each shard's loss scaled by its share of the global batch, as Keras does), and
each non-trainable variable ending at the replicas' values combined as its aggregation says.
"""

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.distributed import steps
from conformance.tensors import flatten


def replicas_step(spec, built, batch, replicas, aggregations):
    """The :class:`~conformance.distributed.steps.Step` the replicas' own steps add up to,
    from ``built`` (a single-device model) on ``batch``; ``aggregations`` holds, per
    non-trainable weight, ``mean``, ``sum`` or ``first`` (see :func:`aggregation`)."""
    start = built.get_weights()
    gradients, losses, states = None, [], []
    for values, targets in zip(replicas.shards(batch.values, batch.size),
                               replicas.shards(batch.targets, batch.size)):
        built.set_weights(start)
        with tf.GradientTape() as tape:
            outputs = spec.call(built, values, training=True)
            loss = _data_loss(outputs, targets, batch.losses) + sum(built.losses)
        found = tape.gradient(loss, built.trainable_weights)
        found = [np.zeros(v.shape, "float32") if g is None else np.asarray(tf.convert_to_tensor(g))
                 for g, v in zip(found, built.trainable_weights)]
        gradients = found if gradients is None else [a + b for a, b in zip(gradients, found)]
        losses.append(float(loss))
        states.append([steps.value(v) for v in built.non_trainable_weights])
    built.set_weights(start)
    initial_trainable, initial_state = steps.weights_of(built)
    trainable = [w - steps.LEARNING_RATE * g / replicas.count for w, g in zip(initial_trainable, gradients)]
    non_trainable = [_combined([state[j] for state in states], initial_state[j], how)
                     for j, how in enumerate(aggregations)]
    return steps.Step(float(np.mean(losses)), trainable, non_trainable)


def _data_loss(outputs, targets, losses):
    """The compiled loss: the mean squared error of each output with a loss, over the
    positions its Keras mask keeps when it has one (as Keras weighs a masked output's
    loss), summed."""
    total = 0.0
    for output, target, loss in zip(*(flatten(s, keep_none=True) for s in (outputs, targets, losses))):
        if loss is None:
            continue
        errors = tf.reduce_mean(tf.square(tf.cast(output, "float32") - target), axis=-1)
        mask = compat.keras_mask(output)
        if mask is None:
            total += tf.reduce_mean(errors)
        else:
            kept = tf.cast(mask, "float32")
            total += tf.reduce_sum(errors * kept) / tf.reduce_sum(kept)
    return total


def outputs_masked(spec, built, values):
    """Whether any output of ``built`` carries a Keras mask: fit then averages that output's
    loss over the kept positions of each replica's shard, not of the global batch."""
    return any(compat.keras_mask(output) is not None
               for output in flatten(spec.call(built, values, training=False)))


def _combined(values, initial, how):
    if how == "mean":
        return np.mean(values, axis=0)
    if how == "sum":
        return initial + np.sum([v - initial for v in values], axis=0)
    return values[0]


def aggregation(variable):
    """How a distributed variable combines the replicas' updates: ``mean``, ``sum`` or
    ``first`` (aggregation none or only-first-replica: reading gives the first replica's)."""
    found = compat.tf_variable(variable).aggregation
    if found == tf.VariableAggregation.MEAN:
        return "mean"
    if found == tf.VariableAggregation.SUM:
        return "sum"
    return "first"
