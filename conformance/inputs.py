"""What a layer is called with: its inputs, described, drawn, sliced and made symbolic.

An input (:class:`TensorInput`) has a shape with the batch first, a dtype, a value domain
and a place in the call: positional (several positional inputs are passed as one list, as
Keras passes them), a keyword argument (``query=``), or a key of a dict argument
(``inputs={"token_ids": ...}``; keys ``0, 1, ...`` make a list argument instead). All the
inputs of a target, and the constant keyword arguments it is called with
(``use_causal_mask=True``), make one :class:`CallInputs`. Every check draws, slices and
symbolises inputs through it, and calls the target through it.

Drawn inputs are a dict ``{input key: array}`` in declaration order; the key of a
positional input is ``input_<i>``, of a named one its name (``query``, ``inputs.token_ids``).

The text form, shared by the command line and ``pyproject.toml``, is
``[NAME=]SHAPE[:DTYPE][@LOW..HIGH][!MARK...]``: ``3,7``, ``query=2,5,8``, ``3,6:int32@0..20``,
``inputs.padding_mask=2,5:bool``, ``2,4:float32@0..`` (strictly positive). Marks (see
:data:`MARKS`) say what else an input is: ``2,5:float32!mask`` (a 0/1 mask in a float
dtype), ``encoder_padding_mask=2,5:int32!mask_of=encoder_sequence``, ``4,2!unbatched``
(no batch axis: anchors, a table), ``1,4,4!broadcast`` (a batch of one broadcast against
the batch), ``2,5,10!onehot``, ``inputs.0=2,5:int32!tuple`` (``inputs`` is a tuple),
``2,6,6,3!seq=1,2`` or ``2,5,3!seq=none`` (which axes are sequence axes).

Sequence (length) axes are the axes whose size is a length the target must take at any
value: the checks draw the inputs at other lengths and make them None on ``keras.Input``.
The rule (:meth:`CallInputs.sequence_axes`): axis 1 of integer ids of rank 2 or more
(``[batch, time]``) and of float or one-hot inputs of rank 3 (``[batch, time,
features]``); nothing else (vectors, images). A mask follows what it masks: its last axis
(rank 2) or last two axes (an attention mask, ``[batch, queries, keys]``) are sequence axes
when their size is the length of a sequence axis of a data input (of the ``!mask_of`` input
when declared). All sequence axes of one size are one length and vary together (a query,
its key and value and their masks); axes of different sizes vary each on its own (a
cross-attention keeps its two lengths apart). ``!seq=AXIS[,AXIS...]`` names an input's
sequence axes when the rule guesses wrong, ``!seq=none`` says it has none.
"""

import dataclasses
import json
import math
import re
import zlib
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
INT_DTYPES = ("int32", "int64")
DTYPES = FLOAT_DTYPES + INT_DTYPES + ("bool",)
#: The id range of an integer input nobody gave one: ``[0, 10)``.
DEFAULT_INT_DOMAIN = (0, 10)

_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)?"
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TEXT_FORM = re.compile(
    rf"^(?:(?P<name>{_NAME})=)?(?P<shape>[^:@=!]+)(?::(?P<dtype>\w+))?"
    rf"(?:@(?P<low>{_NUMBER})?\.\.(?P<high>{_NUMBER})?)?(?P<marks>(?:!\w+(?:=[\w.,]+)?)*)$"
)
_SYNTAX = ("[NAME=]SHAPE[:DTYPE][@LOW..HIGH][!MARK...], e.g. 3,7 or query=2,5,8 or "
           "3,6:int32@0..20 or 2,5:float32!mask")
#: The marks an input may carry after its domain (``!unbatched``, ``!mask_of=query``).
MARKS = {
    "unbatched": "has no batch axis: the shape given is the whole shape, the values are the "
                 "same in every call, and it is never sliced with the batch",
    "broadcast": "a batch-1 input broadcast against the batch (shape 1,...): like unbatched",
    "mask": "a 0/1 padding mask in the dtype given (float32, int32...), like a bool mask",
    "mask_of": "a mask (any dtype) of the input named, e.g. !mask_of=encoder_sequence",
    "onehot": "one-hot rows along the last axis (its size is the number of classes)",
    "tuple": "the list argument it belongs to (or the positional inputs) is passed as a tuple",
    "seq": "its sequence (length) axes, e.g. !seq=1 or !seq=1,2, or !seq=none for none (by "
           "default axis 1 of ids and of rank-3 float inputs, and a mask's axes of their length)",
}
#: The marks that take a value (``!mask_of=NAME``, ``!seq=1``).
_VALUED_MARKS = ("mask_of", "seq")


class InputError(ValueError):
    """An input description that cannot be used (a usage error, with a one-line message)."""


@dataclass(frozen=True)
class TensorInput:
    """One input of a call: shape (batch first), dtype, value domain and place in the call.

    ``name`` is None for a positional input, ``"query"`` for a keyword argument and
    ``"inputs.token_ids"`` for the key ``token_ids`` of the dict argument ``inputs``.
    ``low``/``high`` bound the values: ids are drawn from ``[low, high)``; floats strictly
    between the bounds given (either may be None). Bool inputs are padding masks: along
    the last axis each row is True, then False, with at least one True.
    """

    shape: tuple
    dtype: str = "float32"
    name: Optional[str] = None
    low: Optional[float] = None
    high: Optional[float] = None
    batched: bool = True
    mask: bool = False
    mask_of: Optional[str] = None
    onehot: bool = False
    as_tuple: bool = False
    #: Its sequence axes as declared (``!seq=``): None to follow the rule, ``()`` for none.
    seq_axes: Optional[tuple] = None

    def __post_init__(self):
        try:
            shape = tuple(int(d) for d in self.shape)
        except (TypeError, ValueError):
            raise InputError(f"a shape is a sequence of positive integers, got {self.shape!r}") from None
        if not shape or min(shape) < 1:
            raise InputError(
                f"{self._label()}: a shape needs a batch size and positive dimensions, got {self.shape!r}")
        object.__setattr__(self, "shape", shape)
        dtype = str(getattr(self.dtype, "name", self.dtype))
        if dtype not in DTYPES:
            raise InputError(f"{self._label()}: dtype {dtype!r} is not one of {', '.join(DTYPES)}")
        object.__setattr__(self, "dtype", dtype)
        if self.name is not None and not re.fullmatch(_NAME, str(self.name)):
            raise InputError(f"input name {self.name!r} is not ARGUMENT or ARGUMENT.KEY")
        if self.mask_of is not None:
            object.__setattr__(self, "mask", True)
        if self.mask and self.dtype != "bool" and (self.low is not None or self.high is not None):
            raise InputError(f"{self._label()}: a mask takes no @LOW..HIGH domain (it holds 0 and 1)")
        if self.mask and self.onehot:
            raise InputError(f"{self._label()}: an input is a mask or one-hot, not both")
        if self.onehot and self.dtype == "bool":
            raise InputError(f"{self._label()}: a one-hot input needs a float or integer dtype")
        self._check_sequence_axes()
        self._check_domain()

    def _check_sequence_axes(self):
        if self.seq_axes is None:
            return
        try:
            axes = tuple(sorted({int(axis) for axis in self.seq_axes}))
        except (TypeError, ValueError):
            raise InputError(f"{self._label()}: sequence axes are axis numbers, got {self.seq_axes!r}") from None
        if axes and not self.batched:
            raise InputError(f"{self._label()}: an input with no batch axis has no sequence axis")
        if any(not 1 <= axis < len(self.shape) for axis in axes):
            raise InputError(f"{self._label()}: a sequence axis is one of axes 1..{len(self.shape) - 1} "
                             f"(0 is the batch), got {','.join(map(str, axes))}")
        object.__setattr__(self, "seq_axes", axes)

    def _label(self):
        return f"input {self.name!r}" if self.name else "input"

    def _check_domain(self):
        low, high = self.low, self.high
        if self.dtype == "bool" or self.mask or self.onehot:
            if low is not None or high is not None:
                what = "a bool" if self.dtype == "bool" else ("a mask" if self.mask else "a one-hot")
                raise InputError(f"{self._label()}: {what} input takes no @LOW..HIGH domain")
            return
        if self.is_int:
            low = DEFAULT_INT_DOMAIN[0] if low is None else low
            high = low + (DEFAULT_INT_DOMAIN[1] - DEFAULT_INT_DOMAIN[0]) if high is None else high
            if float(low) != int(low) or float(high) != int(high):
                raise InputError(f"{self._label()}: an integer domain has integer bounds, got {low}..{high}")
            low, high = int(low), int(high)
        if low is not None and high is not None and not low < high:
            raise InputError(f"{self._label()}: the domain {_number(low)}..{_number(high)} is empty "
                             "(LOW must be below HIGH)")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    # -- what it is ------------------------------------------------------------------------

    @property
    def is_float(self):
        """A floating-point data input (masks and one-hot rows in a float dtype are not)."""
        return self.dtype in FLOAT_DTYPES and not self.mask and not self.onehot

    @property
    def is_int(self):
        """Integer ids (masks and one-hot rows in an integer dtype are not)."""
        return self.dtype in INT_DTYPES and not self.mask and not self.onehot

    @property
    def is_bool(self):
        return self.dtype == "bool"

    @property
    def is_mask(self):
        """A padding or attention mask: a bool input, or one marked ``!mask``/``!mask_of``."""
        return self.is_bool or self.mask

    @property
    def marks(self):
        """The ``!MARK`` words of the text form, in a fixed order."""
        marks = []
        if not self.batched:
            marks.append("unbatched")
        if self.mask_of is not None:
            marks.append(f"mask_of={self.mask_of}")
        elif self.mask:
            marks.append("mask")
        if self.onehot:
            marks.append("onehot")
        if self.as_tuple:
            marks.append("tuple")
        if self.seq_axes is not None:
            marks.append("seq=" + (",".join(map(str, self.seq_axes)) or "none"))
        return marks

    @property
    def own_sequence_axes(self):
        """Its sequence axes as declared or by the rule, or None for a mask whose axes
        depend on what it masks (see :meth:`CallInputs.sequence_axes`)."""
        if self.seq_axes is not None:
            return self.seq_axes
        if not self.batched:
            return ()
        if self.is_mask:
            return None
        rank = len(self.shape)
        if (self.is_int and rank >= 2) or rank == 3:
            return (1,)
        return ()

    @property
    def argument(self):
        """The call argument it goes to (None for positional inputs)."""
        return None if self.name is None else self.name.split(".")[0]

    @property
    def item(self):
        """The key inside its dict (or list) argument, or None."""
        if self.name is None or "." not in self.name:
            return None
        key = self.name.split(".", 1)[1]
        return int(key) if key.isdigit() else key

    @property
    def batch_size(self):
        """The batch size, or None for an input with no batch axis."""
        return self.shape[0] if self.batched else None

    def text(self):
        """The ``[NAME=]SHAPE[:DTYPE][@LOW..HIGH]`` form this input parses back from."""
        out = ",".join(str(d) for d in self.shape)
        if self.name:
            out = f"{self.name}={out}"
        if self.dtype != "float32":
            out += f":{self.dtype}"
        if self.low is not None or self.high is not None:
            out += f"@{_number(self.low)}..{_number(self.high)}"
        return out + "".join(f"!{mark}" for mark in self.marks)

    # -- drawing ---------------------------------------------------------------------------

    def draw(self, rng, batch_size=None, float_dtype=None, scale=1.0):
        """Values for this input: standard-normal floats times ``scale`` (inside the
        bounds, if any), ids uniform over the domain, padding masks for bools."""
        if not self.batched:  # the same values in every draw: part of the call, not the batch
            rng, batch_size, scale = np.random.default_rng(zlib.crc32(self.text().encode())), None, 1.0
        shape = (batch_size or self.shape[0],) + self.shape[1:]
        if self.is_mask:
            return padding_mask(shape, rng).astype(_numpy_dtype(self._own_dtype(float_dtype)))
        if self.onehot:
            ids = rng.integers(0, shape[-1], size=shape[:-1])
            return np.eye(shape[-1])[ids].astype(_numpy_dtype(self._own_dtype(float_dtype)))
        if self.is_int:
            return rng.integers(self.low, self.high, size=shape).astype(self.dtype)
        values = _bounded_floats(rng.standard_normal(shape) * scale, self.low, self.high, rng, shape)
        return values.astype(_numpy_dtype(float_dtype or self.dtype))

    def edge_values(self, batch_size, float_dtype=None):
        """Values at the edges of the domain: the first and last ids (every id of a small
        vocabulary), floats just inside the bounds given, zeros for unbounded floats, and
        whole masks."""
        if not self.batched:
            return self.draw(np.random.default_rng(0))
        shape = (batch_size,) + self.shape[1:]
        size = math.prod(shape)
        if self.is_mask:
            return np.ones(shape, dtype=_numpy_dtype(self._own_dtype(float_dtype)))
        if self.onehot:
            ids = np.resize(np.array([0, shape[-1] - 1]), math.prod(shape[:-1])).reshape(shape[:-1])
            return np.eye(shape[-1])[ids].astype(_numpy_dtype(self._own_dtype(float_dtype)))
        if self.is_int:
            ids = np.arange(self.low, self.high)
            if ids.size > size:
                ids = np.concatenate([ids[:size // 2], ids[ids.size - (size - size // 2):]])
            return np.resize(ids, size).reshape(shape).astype(self.dtype)
        edges = np.asarray(_float_edges(self.low, self.high), dtype="float64")
        return np.resize(edges, size).reshape(shape).astype(_numpy_dtype(float_dtype or self.dtype))


    def _own_dtype(self, float_dtype):
        """The dtype of a mask or one-hot input: its own, or ``float_dtype`` for a float one."""
        return float_dtype if (float_dtype and self.dtype in FLOAT_DTYPES) else self.dtype


def _number(value):
    if value is None:
        return ""
    return str(int(value)) if float(value) == int(value) else repr(float(value))


def _numpy_dtype(dtype):
    if dtype == "bfloat16":
        import ml_dtypes  # shipped with TensorFlow

        return ml_dtypes.bfloat16
    return np.dtype(dtype)


def _bounded_floats(values, low, high, rng, shape):
    if low is not None and high is not None:
        return rng.uniform(low, high, size=shape) if low != high else np.full(shape, low)
    if low is not None:
        return low + np.maximum(np.abs(values), 1e-3)
    if high is not None:
        return high - np.maximum(np.abs(values), 1e-3)
    return values


def _float_edges(low, high):
    if low is not None and high is not None:
        span = high - low
        return [low + 1e-6 * span, high - 1e-6 * span]
    if low is not None:
        return [low + 1e-6 * max(1.0, abs(low)), low + 1e3]
    if high is not None:
        return [high - 1e-6 * max(1.0, abs(high)), high - 1e3]
    return [0.0]


def padding_mask(shape, rng):
    """A bool mask: along the last axis each row is True up to a length, then False.

    One length per batch element, shared by the middle axes (so an attention mask hides
    the same key positions from every query). The first row of a batch is whole; the
    others keep between one and all but one position, so the batch holds padding.
    """
    length = shape[-1]
    batch = shape[0]
    if length == 1:
        lengths = np.ones(batch, dtype=int)
    else:
        lengths = rng.integers(1, length, size=batch)
        if batch > 1:
            lengths[0] = length
    positions = np.arange(length)
    mask = positions[None, :] < lengths[:, None]
    return np.broadcast_to(mask.reshape((batch,) + (1,) * (len(shape) - 2) + (length,)), shape).copy()


def parse_input(text):
    """A :class:`TensorInput` from its text form; :class:`InputError` with the syntax if not."""
    if isinstance(text, TensorInput):
        return text
    if isinstance(text, (list, tuple)):
        return TensorInput(tuple(text))
    match = _TEXT_FORM.match(str(text).strip())
    if match is None:
        raise InputError(f"cannot read input {text!r}: expected {_SYNTAX}")
    try:
        shape = tuple(int(part) for part in match["shape"].split(","))
    except ValueError:
        raise InputError(f"cannot read the shape of input {text!r}: comma-separated integers, "
                         "batch first, e.g. 3,7") from None
    if min(shape) < 1:
        raise InputError(f"input {text!r}: every size must be a positive integer")
    low = None if match["low"] is None else float(match["low"])
    high = None if match["high"] is None else float(match["high"])
    try:
        return TensorInput(shape, match["dtype"] or "float32", match["name"], low, high,
                           **_marked(match["marks"], shape))
    except InputError as exc:  # name the text the user wrote, not the parsed parts
        reason = re.sub(r"^input( '[^']*')?: ", "", str(exc))
        raise InputError(f"input {text!r}: {reason}") from None


def _marked(text, shape):
    """TensorInput fields from the ``!MARK`` words of a text form."""
    fields = {}
    for word in filter(None, (text or "").split("!")):
        mark, _, value = word.partition("=")
        if mark not in MARKS:
            raise InputError(f"unknown mark !{mark}; marks: {', '.join('!' + m for m in MARKS)}")
        if bool(value) != (mark in _VALUED_MARKS):
            raise InputError({"mask_of": "!mask_of takes the input it masks (!mask_of=NAME)",
                              "seq": "!seq takes the sequence axes (!seq=1, !seq=1,2 or !seq=none)"}
                             .get(mark, f"!{mark} takes no value"))
        if mark == "seq":
            fields["seq_axes"] = _sequence_axes(value)
            continue
        if mark == "broadcast" and shape[0] != 1:
            raise InputError(f"a !broadcast input has a batch of 1, got shape {','.join(map(str, shape))}")
        fields.update({"unbatched": {"batched": False}, "broadcast": {"batched": False},
                       "mask": {"mask": True}, "mask_of": {"mask_of": value},
                       "onehot": {"onehot": True}, "tuple": {"as_tuple": True}}[mark])
    return fields


def _sequence_axes(text):
    """The axes of a ``!seq=`` mark: ``none`` or comma-separated axis numbers."""
    if text == "none":
        return ()
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise InputError(f"!seq={text}: give axis numbers (!seq=1 or !seq=1,2) or !seq=none") from None


def _sanitised(key):
    return re.sub(r"\W", "_", key)


@dataclass(frozen=True)
class MaskRole:
    """What a bool input masks: the inputs it governs, and whether it is an attention mask
    (``(batch, queries, keys)``, hiding key positions) or a padding mask of the leading axes."""

    mask: str
    governs: tuple
    attention: bool = False


class CallInputs:
    """Every input of a call, and the constant keyword arguments given with them."""

    def __init__(self, inputs: Sequence, call_kwargs: Optional[Mapping] = None):
        parsed = tuple(parse_input(item) for item in inputs)
        if not parsed:
            raise InputError("a target needs at least one input")
        self.inputs = parsed
        self.call_kwargs = dict(call_kwargs or {})
        self._check_consistency()
        self.keys = tuple(self._key(i, spec) for i, spec in enumerate(self.inputs))

    @classmethod
    def of(cls, inputs=None, input_shapes=None, call_kwargs=None):
        """From input descriptions (strings, :class:`TensorInput`), or from plain shapes
        of positional float32 inputs, or an existing :class:`CallInputs`."""
        if isinstance(inputs, CallInputs):
            return inputs if call_kwargs is None else cls(inputs.inputs, call_kwargs)
        return cls(list(inputs or []) + list(input_shapes or []), call_kwargs)

    def _key(self, index, spec):
        if spec.name is not None:
            return spec.name
        return f"input_{sum(1 for s in self.inputs[:index] if s.name is None)}"

    def _check_consistency(self):
        if not any(spec.batched for spec in self.inputs):
            raise InputError("at least one input needs a batch axis (every input is !unbatched)")
        batches = {spec.batch_size for spec in self.inputs if spec.batched}
        if len(batches) > 1:
            raise InputError(f"every input needs the same batch size, got {sorted(batches)}")
        names = [spec.name for spec in self.inputs if spec.name]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise InputError(f"input(s) {', '.join(duplicated)} given twice")
        arguments = {spec.argument for spec in self.inputs if spec.name}
        whole = {spec.name for spec in self.inputs if spec.name and spec.item is None}
        both = whole & {spec.argument for spec in self.inputs if spec.item is not None}
        if both:
            raise InputError(f"{', '.join(sorted(both))} is given both whole and by key")
        clash = arguments & set(self.call_kwargs)
        if clash:
            raise InputError(f"{', '.join(sorted(clash))} is both an input and a call keyword")
        for argument in {spec.argument for spec in self.inputs if spec.item is not None}:
            keys = [spec.item for spec in self.inputs if spec.argument == argument and spec.item is not None]
            numeric = [k for k in keys if isinstance(k, int)]
            if numeric and (len(numeric) != len(keys) or sorted(numeric) != list(range(len(keys)))):
                raise InputError(f"the keys of list argument {argument!r} must be 0, 1, ... (got {keys})")
        keys = [self._key(i, spec) for i, spec in enumerate(self.inputs)]
        for spec in self.inputs:
            if spec.mask_of is not None and spec.mask_of not in keys:
                raise InputError(f"input {spec.name or 'positional'}: !mask_of={spec.mask_of} names no "
                                 f"input; the inputs are {', '.join(keys)}")
        for argument in {spec.argument for spec in self.inputs if spec.as_tuple}:
            group = [spec for spec in self.inputs if spec.argument == argument]
            if argument is not None and any(spec.item is None or not isinstance(spec.item, int)
                                            for spec in group):
                raise InputError(f"!tuple marks the items of a list argument ({argument}.0=...) "
                                 "or positional inputs")
            if not all(spec.as_tuple for spec in group):
                raise InputError(f"mark every item of {argument or 'the positional inputs'} !tuple, "
                                 "or none")

    # -- description -------------------------------------------------------------------------

    def __iter__(self):
        return iter(zip(self.keys, self.inputs))

    def __len__(self):
        return len(self.inputs)

    def __eq__(self, other):
        return (isinstance(other, CallInputs) and self.inputs == other.inputs
                and self.call_kwargs == other.call_kwargs)

    def __repr__(self):
        return f"CallInputs({self.texts()!r}, call_kwargs={self.call_kwargs!r})"

    @property
    def batch_size(self):
        return next(spec.batch_size for spec in self.inputs if spec.batched)

    @property
    def batched_keys(self):
        """The inputs with a batch axis (the others are ``!unbatched``)."""
        return [key for key, spec in self if spec.batched]

    @property
    def positional_only(self):
        """All inputs positional: the layer is called with one tensor, or a list of them."""
        return all(spec.name is None for spec in self.inputs)

    @property
    def float_keys(self):
        """Floating-point data inputs (not masks, one-hot rows or unbatched inputs)."""
        return [key for key, spec in self if spec.is_float and spec.batched]

    def spec_of(self, key):
        return self.inputs[self.keys.index(key)]

    # -- sequence (length) axes ------------------------------------------------------------

    def sequence_axes(self):
        """``{key: axes}``: each input's sequence axes (see the module's rule): declared
        with ``!seq=``, else axis 1 of ids and of rank-3 float or one-hot inputs, and for a
        mask its last axis (or last two, of an attention mask) where their size is the
        length of a data input's sequence axis (the ``!mask_of`` input's when declared)."""
        axes = {key: spec.own_sequence_axes for key, spec in self}
        lengths_of = {key: {spec.shape[axis] for axis in axes[key]}
                      for key, spec in self if axes[key] is not None and not spec.is_mask}
        every_length = set().union(*lengths_of.values()) if lengths_of else set()
        for key, spec in self:
            if axes[key] is not None:
                continue
            lengths = lengths_of.get(spec.mask_of, set()) if spec.mask_of else every_length
            rank = len(spec.shape)
            candidates = (1,) if rank == 2 else tuple(range(max(1, rank - 2), rank))
            axes[key] = tuple(axis for axis in candidates if spec.shape[axis] in lengths)
        return axes

    def lengths(self):
        """The distinct sizes of the sequence axes, in increasing order (each is one length
        that varies on its own)."""
        return sorted({spec.shape[axis] for (key, spec), axes in zip(self, self.sequence_axes().values())
                       for axis in axes})

    @property
    def has_sequence_axes(self):
        return bool(self.lengths())

    def with_lengths(self, lengths):
        """These inputs with each sequence axis of size ``L`` resized to ``lengths[L]``
        (lengths not in the mapping stay), every input stating its sequence axes (so a
        resized mask stays the mask of what it masks). Integer ids whose domain ends at a
        length (``mask_positions=2,3:int32@0..6`` with a length of 6) are positions along
        it: a shorter length ends their domain too (a longer one keeps it, which stays valid)."""
        resized = []
        for (key, spec), axes in zip(self, self.sequence_axes().values()):
            shape = tuple(lengths.get(size, size) if axis in axes else size
                          for axis, size in enumerate(spec.shape))
            changes = {"shape": shape, "seq_axes": axes if spec.batched else None}
            if spec.is_int and spec.high in lengths and spec.low < min(spec.high, lengths[spec.high]):
                changes["high"] = min(spec.high, lengths[spec.high])
            resized.append(dataclasses.replace(spec, **changes))
        return CallInputs(resized, self.call_kwargs)

    def draw_at(self, lengths, batch_size=None, seed=0):
        """:meth:`draw` of :meth:`with_lengths` ``(lengths)``: the inputs at other lengths."""
        return self.with_lengths(lengths).draw(batch_size=batch_size, seed=seed)

    def symbolic_shape(self, key, unknown_length=False):
        """The per-sample shape of input ``key`` on ``keras.Input``: the sequence axes
        None when ``unknown_length``."""
        spec = self.spec_of(key)
        axes = self.sequence_axes()[key] if unknown_length else ()
        return tuple(None if axis in axes else size for axis, size in enumerate(spec.shape))[1:]

    def texts(self):
        return [spec.text() for spec in self.inputs]

    def describe(self):
        """``2x5x8 query, 2x5 mask (bool)``: a short account for messages."""
        parts = []
        for key, spec in self:
            text = "x".join(str(d) for d in spec.shape)
            if spec.name:
                text = f"{spec.name}={text}"
            details = ([] if spec.dtype == "float32" else [spec.dtype]) + spec.marks
            if details:
                text += f" ({', '.join(details)})"
            parts.append(text)
        described = ", ".join(parts)
        if self.call_kwargs:
            described += " with " + ", ".join(f"{k}={v!r}" for k, v in self.call_kwargs.items())
        return described

    # -- drawing -----------------------------------------------------------------------------

    def draw(self, batch_size=None, seed=0, float_dtype=None, scale=1.0):
        """``{key: array}`` for every input; ``float_dtype`` overrides every float input's dtype."""
        rng = np.random.default_rng(seed)
        return {key: spec.draw(rng, batch_size, float_dtype, scale) for key, spec in self}

    def edge_values(self, batch_size=None, float_dtype=None):
        """Inputs at the edges of their domains (see :meth:`TensorInput.edge_values`)."""
        size = batch_size or self.batch_size
        return {key: spec.edge_values(size, float_dtype) for key, spec in self}

    def filled(self, batch_size=None, value=1.0):
        """Float inputs filled with ``value``; the others drawn as usual."""
        values = self.draw(batch_size)
        return {key: np.full_like(array, value) if self.spec_of(key).is_float else array
                for key, array in values.items()}

    # -- slicing and converting ----------------------------------------------------------

    @staticmethod
    def take(values, index):
        """Every input (masks included) at batch positions ``index`` (a slice or indices)."""
        return {key: array[index] for key, array in values.items()}

    def slice_batch(self, values, index):
        """The inputs at batch positions ``index`` (a slice or indices), masks included;
        inputs with no batch axis (``!unbatched``) stay whole."""
        batched = set(self.batched_keys)
        return {key: array[index] if key in batched else array for key, array in values.items()}

    @staticmethod
    def as_tensors(values, float_dtype=None):
        """``values`` as TensorFlow constants (float inputs cast to ``float_dtype`` if given)."""
        import tensorflow as tf

        converted = {}
        for key, array in values.items():
            tensor = tf.convert_to_tensor(array)
            if float_dtype is not None and tensor.dtype.is_floating:
                tensor = tf.cast(tensor, float_dtype)
            converted[key] = tensor
        return converted

    # -- calling -----------------------------------------------------------------------------

    def arguments(self, values):
        """``(args, kwargs)`` placing each value where its input goes in the call."""
        positional = [values[key] for key, spec in self if spec.name is None]
        if any(spec.as_tuple for spec in self.inputs if spec.name is None):
            positional = [tuple(positional)]  # one tuple even of one item
        args = [] if not positional else [positional[0] if len(positional) == 1 else positional]
        tuples = {spec.argument for spec in self.inputs if spec.as_tuple}
        kwargs = {}
        for key, spec in self:
            if spec.name is None:
                continue
            if spec.item is None:
                kwargs[spec.argument] = values[key]
            else:
                kwargs.setdefault(spec.argument, {})[spec.item] = values[key]
        for argument, value in list(kwargs.items()):
            if isinstance(value, dict) and value and all(isinstance(k, int) for k in value):
                items = [value[i] for i in range(len(value))]
                kwargs[argument] = tuple(items) if argument in tuples else items
        kwargs.update(self.call_kwargs)
        return args, kwargs

    def call(self, target, values, **extra):
        """``target`` called with ``values`` where they belong, the constant call keywords,
        and ``extra`` keywords (``training=...``)."""
        args, kwargs = self.arguments(_tensors(values))
        kwargs.update(extra)
        return target(*args, **kwargs)

    # -- symbolic inputs and models --------------------------------------------------------

    def model_keys(self):
        """The keys a Functional wrapper names its inputs by (``inputs.ids`` -> ``inputs_ids``)."""
        return [_sanitised(key) for key in self.keys]

    def symbolic(self, batch_size=None, float_dtype=None, unknown_length=False):
        """``{key: keras.Input}`` with the batch size given (None: unknown) and each input's
        dtype (float inputs in ``float_dtype`` when given); with ``unknown_length`` every
        sequence axis is None too."""
        from keras_compat import keras

        symbols = {}
        for (key, spec), model_key in zip(self, self.model_keys()):
            if not spec.batched:  # a constant of the call, as in every eager call
                symbols[key] = spec.draw(np.random.default_rng(0))
                continue
            dtype = float_dtype if (float_dtype and spec.is_float) else spec.dtype
            name = None if self.positional_only else model_key
            symbols[key] = keras.Input(shape=self.symbolic_shape(key, unknown_length),
                                       batch_size=batch_size, dtype=dtype, name=name)
        return symbols

    def tensor_specs(self, batch_size=None, float_dtype=None, unknown_length=False):
        """``{key: tf.TensorSpec}`` with the batch size given (None: unknown); with
        ``unknown_length`` every sequence axis is None too."""
        import tensorflow as tf

        return {key: tf.TensorSpec(((batch_size,) if spec.batched else spec.shape[:1])
                                   + self.symbolic_shape(key, unknown_length),
                                   float_dtype if (float_dtype and spec.is_float) else spec.dtype)
                for key, spec in self}

    def model_structure(self, values):
        """``values`` arranged as a Functional wrapper takes them: one array or a list when
        every input is positional (the layer's own call), else a dict by model key. Inputs
        with no batch axis are constants inside the wrapper, not inputs of the model."""
        batched = set(self.batched_keys)
        if self.positional_only:
            arrays = [values[key] for key in self.keys if key in batched]
            return arrays[0] if len(arrays) == 1 else arrays
        return {model_key: values[key] for key, model_key in zip(self.keys, self.model_keys())
                if key in batched}

    def first_argument_only(self, call_signature_first):
        """Whether every input goes into the call's first argument and no constant keyword
        is given, so a model can be fed the first argument alone (what ``fit`` does)."""
        if self.call_kwargs or len(self.batched_keys) < len(self.keys):
            return False
        if any(spec.as_tuple for spec in self.inputs):
            return False
        return len(self.first_argument_keys(call_signature_first)) == len(self.keys)

    def first_argument_keys(self, call_signature_first):
        """The keys of the inputs that make up the call's first argument: the positional
        inputs if any, else those given as ``call_signature_first`` (the name of ``call``'s
        first parameter) or as its keys."""
        positional = [key for key, spec in self if spec.name is None]
        return positional or [key for key, spec in self if spec.argument == call_signature_first]

    def first_argument(self, values):
        """The value of the call's first argument, when :meth:`first_argument_only` holds."""
        args, kwargs = self.arguments(values)
        return args[0] if args else next(iter(kwargs.values()))

    def call_symbolic(self, layer, batch_size=None, float_dtype=None, unknown_length=False):
        """``layer`` called on :meth:`symbolic` inputs. A layer with ``None`` among its
        outputs (refused by Keras's Functional API) is called through
        :class:`~conformance.wrapping.TensorOutputs`, giving its tensor outputs; any other
        failure is the layer's own, raised as it came."""
        try:
            return self.call(layer, self.symbolic(batch_size, float_dtype, unknown_length))
        except Exception as refused:  # noqa: BLE001 - retried through the adapter below
            if not _refuses_none(refused):
                raise
            try:
                return self._adapted(layer, self.symbolic(batch_size, float_dtype, unknown_length))
            except Exception:  # noqa: BLE001 - the adapter does not help
                raise refused from None

    def _adapted(self, layer, symbols):
        """``layer`` called through :class:`~conformance.wrapping.TensorOutputs` on the
        batched ``symbols``."""
        from conformance.wrapping import TensorOutputs

        batched = {key: symbols[key] for key in self.batched_keys}
        return TensorOutputs(layer, self.texts(), self.call_kwargs)(batched)

    def wrap(self, layer, name=None):
        """A Functional model whose only job is to call ``layer`` on these inputs.

        The layer is called through :class:`~conformance.wrapping.TensorOutputs` when its
        outputs hold ``None`` (an optional output not computed), which the Functional API
        refuses, or a Keras mask that does not fit its output (a padding mask on attention
        scores), which ``fit`` cannot weigh a loss by; and when an input has no batch axis
        (the model's inputs are the batched ones) or is part of a tuple argument (``!tuple``,
        which a saved Functional model would give back as a list)."""
        from conformance.wrapping import needs_adapter
        from keras_compat import keras

        adapt = any(spec.as_tuple or not spec.batched for spec in self.inputs)
        symbols = self.symbolic()
        if not adapt:
            try:
                outputs = self.call(layer, symbols)
                adapt = needs_adapter(outputs)
            except Exception as refused:  # noqa: BLE001 - retried through the adapter below
                if not _refuses_none(refused):
                    raise
                adapt = refused
        if adapt is not False:
            symbols = self.symbolic()
            try:
                outputs = self._adapted(layer, symbols)
            except Exception:  # noqa: BLE001 - the adapter does not help: the layer's own error
                if isinstance(adapt, Exception):
                    raise adapt from None
                raise
        return keras.Model(self.model_structure(symbols), outputs, name=name)

    # -- masks -------------------------------------------------------------------------------

    def mask_roles(self):
        """What each bool input masks (see :class:`MaskRole`), for bool inputs that mask
        some float or integer input of the call; masks of nothing found are left out."""
        data = [(key, spec) for key, spec in self if not spec.is_mask]
        roles = []
        for key, spec in self:
            if not spec.is_mask:
                continue
            role = self._role_of(key, spec, data)
            if role is not None and role.governs:
                roles.append(role)
        return roles

    def _role_of(self, key, mask, data):
        def leading(candidates, length_axis=1):
            return tuple(k for k, s in candidates
                         if len(s.shape) > length_axis and s.shape[:2] == (mask.shape[0], mask.shape[-1]))

        positional = [(k, s) for k, s in data if s.name is None]
        name, item = mask.argument, mask.item
        if mask.mask_of is not None:  # declared: the names do not say
            governed = [(k, s) for k, s in data if k == mask.mask_of]
            return MaskRole(key, leading(governed), attention=len(mask.shape) == 3)
        if len(mask.shape) == 3:  # (batch, queries, keys): hides key positions
            named = [(k, s) for k, s in data if s.name in ("key", "value")]
            others = named or [(k, s) for k, s in data[1:]] or data
            return MaskRole(key, leading(others), attention=True)
        if len(mask.shape) != 2:
            return None
        if name == "mask" and item is None:  # Keras's mask= goes with the first argument
            return MaskRole(key, leading(positional or data[:1]))
        if name == "mask" and item is not None:  # mask=[...] pairs with inputs=[...] by position
            paired = [(k, s) for k, s in data if (s.name is None and k == f"input_{item}")
                      or (s.item == item and s.argument != "mask")]
            return MaskRole(key, leading(paired))
        if name is not None and name.endswith("_mask") and item is None:  # query_mask goes with query
            paired = [(k, s) for k, s in data if s.name == name[:-len("_mask")]]
            return MaskRole(key, leading(paired or positional))
        if name is not None and item is not None:  # a mask among the keys of a dict argument
            siblings = [(k, s) for k, s in data if s.argument == name]
            return MaskRole(key, leading(siblings))
        return MaskRole(key, leading(positional or data))


def _refuses_none(exc):
    """Whether ``exc`` is the Functional API refusing a ``None`` output (Keras 3: "All
    operation outputs must be tensors"; Keras 2: ``NoneType`` has no Keras history)."""
    text = str(exc)
    return "must be tensors" in text or "non-tensor" in text or "'NoneType'" in text


def _tensors(values):
    """NumPy arrays among ``values`` as tensors: Keras 2 converts the first argument of a
    call, not keyword arguments (a layer calling ``key.shape.as_list()`` would fail)."""
    import tensorflow as tf

    return {key: tf.convert_to_tensor(value) if isinstance(value, np.ndarray) else value
            for key, value in values.items()}


# -- inputs handed to another process ------------------------------------------------------

def save_structure(path, structure):
    """Write an array, a list of arrays or a dict of arrays (a model's inputs) to ``path``
    (``.npz``), so that :func:`load_structure` gives the same structure back."""
    if isinstance(structure, dict):
        keys, arrays, kind = list(structure), list(structure.values()), "dict"
    elif isinstance(structure, (list, tuple)):
        keys, arrays, kind = [], list(structure), "list"
    else:
        keys, arrays, kind = [], [structure], "array"
    layout = np.array(json.dumps({"kind": kind, "keys": keys}))
    np.savez(path, __layout__=layout, **{f"a{i}": np.asarray(a) for i, a in enumerate(arrays)})


def load_structure(path):
    with np.load(path) as data:
        layout = json.loads(str(data["__layout__"]))
        arrays = [data[f"a{i}"] for i in range(len(data.files) - 1)]
    if layout["kind"] == "dict":
        return dict(zip(layout["keys"], arrays))
    return arrays if layout["kind"] == "list" else arrays[0]
