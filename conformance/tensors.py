"""Turning layer outputs into NumPy and comparing them.

Every comparison here treats NaN as different from everything, NaN included: no two sets
of outputs "agree" because both are NaN. Infinities agree only with the same infinity.
"""

import numpy as np


def flatten(outputs):
    """A (nested) output structure as a flat list, dict entries in key order."""
    if isinstance(outputs, dict):
        return [leaf for key in sorted(outputs, key=str) for leaf in flatten(outputs[key])]
    if isinstance(outputs, (list, tuple)):
        return [leaf for item in outputs for leaf in flatten(item)]
    return [outputs]


def as_arrays(outputs):
    """A layer's output(s) as a list of NumPy arrays (one per output tensor)."""
    return [np.asarray(out) for out in flatten(outputs)]


def undefined_outputs(outputs):
    """Why ``outputs`` is not a tensor or a structure of tensors, or None if it is one."""
    leaves = flatten(outputs)
    if not leaves:
        return "an empty structure with no tensor in it"
    for index, leaf in enumerate(leaves):
        where = "" if len(leaves) == 1 else f" as output {index}"
        if leaf is None:
            return f"None{where}"
        if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
            return f"a {type(leaf).__name__} ({leaf!r:.60}){where}, not a tensor"
    return None


def _is_numeric(array):
    return np.issubdtype(array.dtype, np.number) or array.dtype.kind == "V" or "float" in str(array.dtype)


def _float64(array):
    return np.asarray(array, dtype="float64")


def non_finite(arrays):
    """A phrase counting the NaN and infinite values in ``arrays``, or None if all finite."""
    phrases = []
    for index, array in enumerate(arrays):
        if not _is_numeric(array) or np.issubdtype(array.dtype, np.integer):
            continue
        values = _float64(array)
        nan, inf = int(np.isnan(values).sum()), int(np.isinf(values).sum())
        if nan or inf:
            found = " and ".join(f"{count} {what}" for count, what in ((nan, "NaN"), (inf, "infinite"))
                                 if count)
            where = f"output {index}" if len(arrays) > 1 else "the output"
            phrases.append(f"{found} of {values.size} values in {where}")
    return "; ".join(phrases) or None


def _structure_problem(expected, seen):
    if len(expected) != len(seen):
        return f"{len(seen)} outputs instead of {len(expected)}"
    shapes = [a.shape for a in expected], [b.shape for b in seen]
    if shapes[0] != shapes[1]:
        return f"outputs of shapes {shapes[1]} instead of {shapes[0]}"
    return None


def largest_difference(expected, seen):
    """The largest absolute difference between two lists of same-shaped arrays; ``inf``
    where one holds NaN, or an infinity the other does not hold at the same place."""
    worst = 0.0
    for a, b in zip(expected, seen):
        if not a.size:
            continue
        a, b = _float64(a), _float64(b)
        if np.isnan(a).any() or np.isnan(b).any():
            return float("inf")
        same_infinity = np.isinf(a) & (a == b)
        if (np.isinf(a) | np.isinf(b))[~same_infinity].any():
            return float("inf")
        with np.errstate(invalid="ignore"):  # inf - inf where both hold the same infinity
            diff = np.abs(np.where(same_infinity, 0.0, a - b))
        worst = max(worst, float(diff.max()))
    return worst


def magnitude(arrays, floor=1.0):
    """The largest finite absolute value in ``arrays``, at least ``floor``."""
    largest = [float(np.max(np.abs(v[np.isfinite(v)]))) for v in map(_float64, arrays)
               if v.size and np.isfinite(v).any()]
    return max([floor] + largest)


def mismatch(expected, seen, tolerance, floor=1.0):
    """None when ``seen`` equals ``expected`` within ``tolerance`` x max(``floor``, largest
    expected magnitude); otherwise a phrase saying how they differ (non-finite values are
    named as such, never reported as a difference)."""
    expected, seen = as_arrays(expected), as_arrays(seen)
    problem = _structure_problem(expected, seen)
    if problem:
        return problem
    for label, arrays in (("expected", expected), ("seen", seen)):
        bad = non_finite(arrays)
        if bad and largest_difference(expected, seen) == float("inf"):
            return f"non-finite outputs ({label}: {bad})"
    scale = magnitude(expected, floor)
    diff = largest_difference(expected, seen)
    if diff <= tolerance * scale:
        return None
    return f"outputs differing by up to {diff:.3g} (scale {scale:.3g})"


def single_or_list(arrays):
    """One array stays one array; several stay a list (how Keras expects model inputs)."""
    return arrays[0] if len(arrays) == 1 else list(arrays)


def max_abs_diff(expected, seen):
    """The largest absolute difference between two same-shaped output structures (``inf``
    where NaN or unmatched infinities appear); ``ValueError`` if their structures differ."""
    expected, seen = as_arrays(expected), as_arrays(seen)
    problem = _structure_problem(expected, seen)
    if problem:
        raise ValueError(problem)
    return largest_difference(expected, seen)
