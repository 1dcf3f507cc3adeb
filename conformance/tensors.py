"""Turning layer outputs into NumPy and comparing them."""

import numpy as np


def as_arrays(outputs):
    """A layer's output(s) as a list of NumPy arrays (one per output tensor)."""
    if isinstance(outputs, dict):
        outputs = [outputs[key] for key in sorted(outputs)]
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(out) for out in outputs]


def max_abs_diff(a, b):
    """Largest absolute difference between two lists of arrays of equal shapes."""
    a, b = as_arrays(a), as_arrays(b)
    if len(a) != len(b):
        raise ValueError(f"{len(a)} outputs against {len(b)}")
    worst = 0.0
    for x, y in zip(a, b):
        if x.shape != y.shape:
            raise ValueError(f"output shapes differ: {x.shape} against {y.shape}")
        if x.size:
            worst = max(worst, float(np.max(np.abs(x.astype("float64") - y.astype("float64")))))
    return worst


def single_or_list(arrays):
    """One array stays one array; several stay a list (how Keras expects model inputs)."""
    return arrays[0] if len(arrays) == 1 else list(arrays)
