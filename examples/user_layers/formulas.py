"""NumPy formulas to check layers against (``--reference examples/user_layers/formulas.py:layer_norm``).

A function reference is called like the layer's ``call``, with the inputs as NumPy arrays,
and with ``weights`` (the layer's weights by name: ``{"gamma": array, "beta": array}``) and
``training`` when it takes them; it returns the outputs the layer should compute."""

import numpy as np

EPSILON = 1e-3


def layer_norm(inputs, weights, training=False):
    """Layer normalization over the last axis, in float64."""
    x = np.asarray(inputs, dtype="float64")
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + EPSILON) * weights["gamma"] + weights["beta"]


def add(inputs):
    """The sum of a list of inputs (``keras.layers.Add``): a list input arrives as a list of
    arrays, as the layer's ``call`` gets it; without ``weights`` or ``training`` in its
    signature, the function is not given them."""
    return np.sum(np.stack([np.asarray(x, dtype="float64") for x in inputs]), axis=0)
