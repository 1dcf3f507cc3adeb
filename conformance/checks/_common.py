"""Small helpers shared by the check families."""

import numpy as np
import tensorflow as tf

from conformance.tensors import as_arrays


def values(variables):
    """Current values of ``variables`` as NumPy arrays (copies)."""
    return [np.array(v) for v in variables]


def changed(before, after):
    """Indices of the arrays that differ between two lists of equal length."""
    return [i for i, (a, b) in enumerate(zip(before, after)) if not np.array_equal(a, b)]


def variable_names(variables, indices=None):
    indices = range(len(variables)) if indices is None else indices
    return [variables[i].name for i in indices]


def forward(layer, inputs, training=False):
    """The layer's output(s) as NumPy arrays."""
    return as_arrays(layer(inputs, training=training))


def shapes_of(arrays):
    return [tuple(a.shape) for a in as_arrays(arrays)]


def projection_loss(outputs, seed=0):
    """A generic scalar loss: each output dotted with fixed random weights.

    Unlike a sum of squares it is not symmetric, so no weight has a zero gradient merely
    because positive and negative contributions cancel.
    """
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    rng = np.random.default_rng(seed)
    total = 0.0
    for out in outputs:
        weights = tf.constant(rng.standard_normal(tuple(out.shape)), dtype=out.dtype)
        total += tf.reduce_sum(tf.cast(out * weights, tf.float64))
    return total


def describe_shapes(shapes):
    return ", ".join(str(tuple(s)) for s in shapes)
