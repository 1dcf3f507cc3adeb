"""Turning layer outputs into NumPy and comparing them.

Every comparison here treats NaN as different from everything, NaN included: no two sets
of outputs "agree" because both are NaN. Infinities agree only with the same infinity.
"""

import numpy as np


def flatten(outputs, keep_none=False):
    """A (nested) output structure as a flat list, dict entries in key order.

    ``None`` leaves are left out (a layer may return ``(outputs, None)``, e.g. a cache
    that is None when none was given) unless ``keep_none``: a structure of masks keeps
    them, to stay aligned with the outputs the masks belong to.
    """
    return [leaf for _, leaf in flatten_with_paths(outputs, keep_none)]


def flatten_with_paths(outputs, keep_none=False, prefix=""):
    """``[(path, leaf)]`` in :func:`flatten`'s order; a path names a leaf by its place in
    the structure: ``""`` for a single output, ``"1"``, ``"logits"``, ``"1.cache"``."""
    def joined(key):
        return f"{prefix}.{key}" if prefix else str(key)

    if isinstance(outputs, dict):
        return [pair for key in sorted(outputs, key=str)
                for pair in flatten_with_paths(outputs[key], keep_none, joined(key))]
    if isinstance(outputs, (list, tuple)):
        return [pair for index, item in enumerate(outputs)
                for pair in flatten_with_paths(item, keep_none, joined(index))]
    if outputs is None and not keep_none:
        return []
    return [(prefix, outputs)]


def output_names(outputs):
    """A name for each output :func:`flatten` gives: its path in the structure, or its
    position (``"0"``, ``"1"``...) in the flat list when the output is a single tensor."""
    return [path or str(index) for index, (path, _) in enumerate(flatten_with_paths(outputs))]


def select_outputs(outputs, names):
    """Positions in :func:`flatten`'s list of the outputs ``names`` names: a path in the
    structure (``"logits"``, ``"0"``, ``"1.cache"``) or a position in the flat list;
    ``ValueError`` naming the outputs there are when a name matches none."""
    paths = flatten_with_paths(outputs)
    chosen = []
    for name in names:
        text = str(name)
        matches = [i for i, (path, _) in enumerate(paths)
                   if path == text or path.startswith(text + ".")]
        if not matches and text.isdigit() and int(text) < len(paths):
            matches = [int(text)]
        if not matches:
            raise ValueError(f"no output is named {text!r}; the outputs are "
                             f"{', '.join(output_names(outputs))}")
        chosen.extend(i for i in matches if i not in chosen)
    return sorted(chosen)


def as_arrays(outputs):
    """A layer's output(s) as a list of NumPy arrays (one per output tensor; None left out)."""
    return [np.asarray(out) for out in flatten(outputs)]


def undefined_outputs(outputs):
    """Why ``outputs`` is not a tensor or a structure of tensors, or None if it is one.

    ``None`` inside a structure is allowed (an optional output not computed in this call),
    but a structure must hold at least one tensor."""
    if outputs is None:
        return "None"
    leaves = flatten(outputs)
    if not leaves:
        if flatten(outputs, keep_none=True):
            return "a structure holding only None, no tensor"
        return "an empty structure with no tensor in it"
    for index, leaf in enumerate(leaves):
        where = "" if len(leaves) == 1 else f" as output {index}"
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


def _sorted_along_last_axis(arrays):
    """``arrays`` (all of one shape) reordered along their last axis by one permutation per
    row: the order that sorts the rows' tuples (integer arrays first, as they hold exact ids)."""
    keys = sorted(arrays, key=lambda a: not np.issubdtype(a.dtype, np.integer))
    order = np.lexsort([np.asarray(key, np.float64) for key in reversed(keys)], axis=-1)
    return [np.take_along_axis(a, order, axis=-1) for a in arrays]


def same_up_to_order(expected, seen, tolerance, floor=1.0):
    """Whether ``seen`` holds the ``expected`` outputs (within ``tolerance``, as :func:`mismatch`
    compares them) in another order along the last axis, the outputs of one shape reordered
    alike, so values stay paired with their indices (``top_k(sorted=False)``: XLA, or another
    backend, may return the same pairs in another order)."""
    expected, seen = as_arrays(expected), as_arrays(seen)
    if len(expected) != len(seen) or any(a.shape != b.shape or a.ndim == 0 for a, b in zip(expected, seen)):
        return False
    groups = {}
    for position, array in enumerate(expected):
        groups.setdefault(array.shape, []).append(position)
    expected_sorted, seen_sorted = list(expected), list(seen)
    for positions in groups.values():
        for source, target in ((expected, expected_sorted), (seen, seen_sorted)):
            for position, array in zip(positions, _sorted_along_last_axis([source[p] for p in positions])):
                target[position] = array
    return not mismatch(expected_sorted, seen_sorted, tolerance, floor)


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


# -- which outputs carry the batch ---------------------------------------------------------

def batch_axes(shapes_by_size, build_size, unbatched=()):
    """For each output, the axes whose size follows the batch size (``(0,)`` for a batched
    output, ``()`` for one with no batch axis or a batch-1 broadcast one, ``(0, 1)`` for
    ``[B, B]`` in-batch logits), from the output shapes at two or more batch sizes
    (``{batch size: [shape, ...]}``).

    An output whose shape never moves but whose leading size equals ``build_size`` (the
    batch size the layer was built with) may be a batch frozen into the layer: it counts as
    batched, so the checks catch it. Positions in ``unbatched`` are declared unbatched.
    """
    sizes = sorted(shapes_by_size)
    counts = {len(shapes) for shapes in shapes_by_size.values()}
    if len(counts) != 1:
        raise ValueError(f"the number of outputs changes with the batch size: "
                         f"{ {size: len(shapes_by_size[size]) for size in sizes} }")
    axes = []
    for index in range(counts.pop()):
        shapes = [tuple(shapes_by_size[size][index]) for size in sizes]
        if index in unbatched:
            axes.append(())
            continue
        ranks = {len(shape) for shape in shapes}
        if len(ranks) != 1 or not shapes[0]:
            axes.append((0,) if shapes[0] else ())
            continue
        following = tuple(axis for axis in range(len(shapes[0]))
                          if all(shape[axis] == size for shape, size in zip(shapes, sizes)))
        if not following and len(set(shapes)) > 1 or shapes[0][0] == build_size:
            following = following or (0,)
        axes.append(following)
    return axes


def take_batch(arrays, axes, index):
    """Each array at batch positions ``index`` (a slice or indices) along its batch axes
    (see :func:`batch_axes`); an array with no batch axis is kept whole."""
    taken = []
    for array, along in zip(arrays, axes):
        for axis in along:
            positions = np.arange(array.shape[axis])[index]
            array = np.take(array, positions, axis=axis)
        taken.append(array)
    return taken


def per_sample_shape(shape, along):
    """``shape`` without its batch axes."""
    return tuple(size for axis, size in enumerate(shape) if axis not in along)
