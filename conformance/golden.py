"""Golden files: what one target computed, kept in one ``.npz``, and how a new computation is
compared with it. Only NumPy is needed here: the check (``conformance/checks/golden.py``)
computes, this module names, writes, reads and compares.

A golden file holds five groups of arrays, each array with a name and its dtype: the seeded
``inputs``, the ``weights`` (by name, in ``layer.weights`` order), the ``inference`` outputs,
the ``training`` outputs (only when the target is deterministic in training) and the
``gradients`` of the checks' projection loss w.r.t. the trainable weights and float inputs.
Beside them, ``about`` (JSON) says which Keras, TensorFlow and backend recorded it.

One file per target: ``<label made filesystem-safe>-<8 hex digits>.npz``, the digits a hash
of the constructor kwargs, the inputs and the call kwargs, so two targets of one class
checked with different arguments get different files.
"""

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field

import numpy as np

#: The version of the file layout; a file of another version is re-recorded, not misread.
FORMAT_VERSION = 1
SUFFIX = ".npz"
#: The groups of arrays a golden file holds, in the order they are compared.
GROUPS = ("inputs", "weights", "inference", "training", "gradients")
#: Relative tolerance of each floating-point dtype: a difference counts when it exceeds this
#: times the array's scale (its largest recorded magnitude, at least 1e-3 of the largest of
#: its group). About 100 units in the last place at that scale for float32; the 16-bit
#: dtypes keep only 8 to 11 bits, float64 keeps 52. Integers and booleans must be equal.
RELATIVE_TOLERANCE = {"float64": 1e-9, "float32": 1e-5, "float16": 1e-2, "bfloat16": 5e-2}
#: An array's scale is at least this part of the largest magnitude of its group, so an
#: array of near-zero values (a gradient that hardly moves) is not held to rounding noise.
_GROUP_FLOOR = 1e-3
#: The dtypes NumPy writes into an ``.npz`` as they are; others (bfloat16) go as float32.
_PLAIN_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                 "uint16", "uint32", "uint64", "bool")
_NAME_LENGTH = 80


class GoldenFileError(ValueError):
    """A golden file that cannot be read as one (damaged, or of another format)."""


@dataclass
class Entry:
    """One recorded array: its name (an input key, a weight name, an output path, what a
    gradient is taken with respect to), its values and its dtype: the dtype it had (inputs,
    weights), or for outputs and gradients the dtype whose precision they carry (the looser
    of their own and the layer's compute dtype), which sets their tolerance."""

    name: str
    array: np.ndarray
    dtype: str


@dataclass
class Recording:
    """Everything a golden file holds: ``groups`` maps each of :data:`GROUPS` that was
    recorded to its entries; ``about`` holds the versions and notes."""

    groups: dict = field(default_factory=dict)
    about: dict = field(default_factory=dict)

    def group(self, name):
        return self.groups.get(name, [])

    def has(self, name):
        return name in self.groups


# -- naming ------------------------------------------------------------------------------------


def _stable(value):
    """``value`` as plain JSON that is the same in every process: functions and classes by
    their import name, arrays by their dtype, shape and a hash of their bytes."""
    if isinstance(value, dict):
        return {str(key): _stable(item) for key, item in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_stable(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        return {"array": str(value.dtype), "shape": list(value.shape),
                "sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()}
    if isinstance(value, np.generic):
        return value.item()
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '?')}:{value.__qualname__}"
    text = repr(value)
    # a repr with a memory address differs between processes: keep the type only
    return type(value).__qualname__ if " at 0x" in text else text


def identity_hash(identity):
    """Eight hex digits identifying what a target is made and called with (``identity``: a
    dict of its kwargs, inputs and call kwargs)."""
    text = json.dumps(_stable(identity), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def name_base(label, directory):
    """The part of a file name that comes from the target's label. A label naming a file
    (``path/to/layers.py:Class``) is taken relative to the golden directory's parent, without
    leading ``..``: the same file name whatever folder the command runs from."""
    where, _, name = label.rpartition(":")
    if where.endswith(".py"):
        anchor = os.path.dirname(os.path.abspath(directory))
        relative = os.path.relpath(os.path.abspath(where), anchor).replace(os.sep, "/")
        parts = [part for part in relative.split("/") if part not in ("..", ".", "")]
        label = f"{'/'.join(parts)}:{name}"
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._-")
    return safe[:_NAME_LENGTH] or "target"


def file_name(label, identity, directory):
    """``<safe label>-<identity hash>.npz`` (see :func:`name_base`, :func:`identity_hash`)."""
    return f"{name_base(label, directory)}-{identity_hash(identity)}{SUFFIX}"


def path_for(directory, label, identity):
    return os.path.join(directory, file_name(label, identity, directory))


# -- writing and reading -----------------------------------------------------------------------


def _storable(array):
    """``array`` in a dtype an ``.npz`` keeps without pickling (bfloat16 goes as float32)."""
    array = np.asarray(array)
    if str(array.dtype) in _PLAIN_DTYPES:
        return array
    return array.astype("float32")


def write(path, recording):
    """Write ``recording`` to ``path`` atomically: into a temporary file beside it, then
    renamed over it, so no reader ever sees half a file and a failure leaves none behind."""
    arrays, listing = {}, {}
    for group in GROUPS:
        if not recording.has(group):
            continue
        listing[group] = []
        for index, entry in enumerate(recording.group(group)):
            arrays[f"{group}.{index}"] = _storable(entry.array)
            listing[group].append([entry.name, entry.dtype])
    about = {**recording.about, "format": FORMAT_VERSION, "groups": listing}
    arrays["about"] = np.array(json.dumps(about, sort_keys=True))
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez_compressed(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; a golden file is shared
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read(path):
    """The :class:`Recording` in ``path``; :class:`GoldenFileError` saying why if it is not
    a golden file of this format."""
    try:
        with np.load(path, allow_pickle=False) as data:
            about = json.loads(str(data["about"]))
            if about.get("format") != FORMAT_VERSION:
                raise GoldenFileError(f"it is of format {about.get('format')!r}, this checker "
                                      f"reads format {FORMAT_VERSION}")
            groups = {}
            for group, listing in about.get("groups", {}).items():
                groups[group] = [Entry(name, np.array(data[f"{group}.{index}"]), dtype)
                                 for index, (name, dtype) in enumerate(listing)]
    except GoldenFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged file, said as such
        raise GoldenFileError(f"it cannot be read as a golden file ({type(exc).__name__}: {exc})") from None
    about.pop("groups", None)
    return Recording(groups=groups, about=about)


# -- comparing ---------------------------------------------------------------------------------


def relative_tolerance(dtype):
    """The relative tolerance of values of ``dtype`` (a name); 0 (equal) for integers and
    booleans, float32's for a floating dtype not listed."""
    if dtype in RELATIVE_TOLERANCE:
        return RELATIVE_TOLERANCE[dtype]
    return RELATIVE_TOLERANCE["float32"] if "float" in dtype else 0.0


@dataclass
class Difference:
    """The worst difference of one array: where (``what`` and ``index``), the recorded and
    the new value there, and how far apart they may be."""

    what: str
    index: tuple
    recorded: float
    seen: float
    difference: float
    tolerance: float
    dtype: str
    count: int
    size: int

    @property
    def excess(self):
        return float("inf") if self.tolerance == 0 else self.difference / self.tolerance

    def describe(self):
        where = f" at index {self.index}" if self.index else ""
        return (f"{self.what} differing by up to {self.difference:.3g}{where} (recorded "
                f"{self.recorded:.6g}, now {self.seen:.6g}; tolerance {self.tolerance:.3g} for "
                f"{self.dtype}; {self.count} of {self.size} values off)")


def _as_float64(array):
    return np.asarray(array).astype("float64")


def _magnitude(array):
    values = _as_float64(array)
    finite = values[np.isfinite(values)]
    return float(np.max(np.abs(finite))) if finite.size else 0.0


def worst_differences(what_by_entry, recorded, seen):
    """The arrays of ``seen`` that differ from the ``recorded`` entries (same order, same
    shapes) by more than their dtype's tolerance: one :class:`Difference` each, the worst
    first. ``what_by_entry(entry)`` says what an entry is ("inference output '0'").
    NaN agrees only with NaN and an infinity only with the same infinity."""
    largest = max([0.0] + [_magnitude(entry.array) for entry in recorded])
    found = []
    for entry, new in zip(recorded, seen):
        want, got = _as_float64(entry.array), _as_float64(new)
        if not want.size:
            continue
        same = (want == got) | (np.isnan(want) & np.isnan(got))
        with np.errstate(invalid="ignore"):
            difference = np.where(same, 0.0, np.abs(want - got))
        difference = np.where(np.isnan(difference), np.inf, difference)
        scale = max(_magnitude(want), _GROUP_FLOOR * largest, 1e-12)
        tolerance = relative_tolerance(entry.dtype) * scale
        off = difference > tolerance
        if not off.any():
            continue
        index = np.unravel_index(int(np.argmax(difference)), want.shape)
        found.append(Difference(
            what=what_by_entry(entry), index=tuple(int(i) for i in index),
            recorded=float(want[index]), seen=float(got[index]), difference=float(difference[index]),
            tolerance=tolerance, dtype=entry.dtype, count=int(off.sum()), size=int(want.size)))
    return sorted(found, key=lambda d: d.excess, reverse=True)


def describe_versions(about):
    """``Keras 3.15.1 on TensorFlow 2.21.0 (backend tensorflow, CPU)`` from a recording's ``about``."""
    flavour = " via tf_keras" if about.get("legacy_keras") else ""
    return (f"Keras {about.get('keras', '?')}{flavour} on TensorFlow {about.get('tensorflow', '?')} "
            f"(backend {about.get('backend', '?')}, {about.get('device', 'device not recorded')})")


def version_change(recorded, current):
    """A sentence saying how the versions (and the kind of device) that recorded a file differ
    from ``current`` (an ``about`` of this process), or None when they are the same."""
    keys = ("keras", "tensorflow", "backend", "legacy_keras", "device")
    if all(recorded.get(key) == current.get(key) for key in keys):
        return None
    return (f"the golden file was recorded with {describe_versions(recorded)} and this run uses "
            f"{describe_versions(current)}: the difference may come from the versions or the "
            "device, not the layer")
