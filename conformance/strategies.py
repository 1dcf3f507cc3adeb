"""Hypothesis strategies for writing property tests of Keras layers and models.

hypothesis is a test extra: this module imports it at once, and nothing else in
``conformance`` imports this module, so ``import conformance`` works without it.

Values and arrays
    ``float32_values(max_magnitude=1e4)``   finite float32 numbers: zero, ordinary, large
                                            (up to ``max_magnitude``), tiny, negative
    ``batch_sizes(max_size=5)``             batch sizes from 1
    ``input_shapes(shape, free_axes=...)``  one shape: the batch drawn, free axes drawn
    ``input_arrays(spec, ...)``             positional float inputs for a ``CheckSpec``, a
                                            list of shapes or one shape: an array, or a list
                                            of arrays sharing one drawn batch size
    ``call_inputs(spec, ...)``              every input of a ``CheckSpec`` (or of input
                                            descriptions such as ``["query=2,5,8",
                                            "3,6:int32@0..20"]``) drawn from its declared
                                            domain: ``{key: array}``, ids in range, padding
                                            masks for bools; ``spec.call(layer, values)``
Constructor kwargs
    ``layer_kwargs(ranges)``                kwargs from declared ranges: ``(low, high)``
                                            inclusive, a list of choices, a strategy, or a
                                            constant
Registered references (``reference_models``)
    ``reference_kwargs(name, **overrides)`` a reference's kwargs from ``KWARG_RANGES``
    ``reference_input_shapes(name, kwargs)``  its input shapes, free axes drawn
    ``reference_inputs(name, kwargs)``      its inputs
    ``reference_examples(name)``            ``(kwargs, inputs)`` pairs

Every strategy draws plain values (dicts, tuples, NumPy arrays), so hypothesis reports a
failing example as the kwargs, shapes and numbers it used.

Example: a property of your own layer, checked against the NumPy formula::

    import numpy as np
    from hypothesis import given

    from conformance import strategies as cst
    from mypackage.layers import MyDense

    @given(
        kwargs=cst.layer_kwargs({"units": (1, 8), "activation": [None, "relu"]}),
        x=cst.input_arrays([(4, 6)], free_axes={-1: (1, 9)}),
    )
    def test_my_dense_matches_its_formula(kwargs, x):
        layer = MyDense(**kwargs)
        y = np.asarray(layer(x))
        kernel, bias = (np.asarray(w, dtype="float64") for w in layer.weights)
        expected = x.astype("float64") @ kernel + bias
        if kwargs["activation"] == "relu":
            expected = np.maximum(expected, 0.0)
        # float32 arithmetic: tolerance relative to the size of the terms summed
        scale = np.abs(x.astype("float64")) @ np.abs(kernel) + np.abs(bias)
        assert np.all(np.abs(y - expected) <= 1e-5 * scale + 1e-6)

The same works for a registered reference: ``@given(case=cst.reference_examples("dnn_residual"))``
gives ``(kwargs, x)`` pairs with the block's hyperparameters and inputs drawn together.
"""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "FREE_AXES",
    "KWARG_RANGES",
    "batch_sizes",
    "call_inputs",
    "float32_values",
    "input_arrays",
    "input_shapes",
    "layer_kwargs",
    "reference_examples",
    "reference_input_shapes",
    "reference_inputs",
    "reference_kwargs",
]

#: The smallest positive normal float32. Subnormals are left out: TensorFlow flushes them
#: to zero on CPU, NumPy does not.
FLOAT32_TINY = float(np.finfo(np.float32).tiny)

_ACTIVATIONS = [None, "linear", "relu", "tanh", "sigmoid"]

#: Declared hyperparameter ranges of the references, in ``layer_kwargs`` form. Kept small
#: so that drawn layers stay cheap; pass overrides to ``reference_kwargs`` for others.
KWARG_RANGES = {
    "simple_dense": {"units": (1, 8), "activation": _ACTIVATIONS},
    "custom_dense": {"units": (1, 8)},
    "my_custom_layer": {"units": (1, 8)},
    "dropout": {"rate": (0.0, 0.9)},
    "batch_norm_dropout_block": {"rate": (0.0, 0.9)},
    "identity_block": {"filters": (1, 4), "kernel_size": (1, 3)},
    "cnn_residual": {"layers": (1, 3), "filters": (1, 4)},
    "dnn_residual": {"layers": (1, 3), "neurons": (1, 8)},
    "lambda_my_relu": {
        "threshold": st.one_of(st.sampled_from([0.0, 0.5]), st.floats(-2.0, 2.0, width=32))
    },
    "my_model": {"num_classes": (1, 12)},
    "my_residual": {"width": (1, 8)},
    "resnet": {"num_classes": (2, 12)},  # a softmax over one class is constant
    "shared_dense_two_output": {"units": (1, 8)},
    "wide_and_deep": {"units": (1, 8), "activation": _ACTIVATIONS},
}

_FEATURES = {-1: (1, 9)}
_IMAGE = {1: (1, 7), 2: (1, 7)}

#: Axes of a reference's example input shapes that may take other sizes (axis ->
#: inclusive size range). One size is drawn per axis and used for every input.
FREE_AXES = {
    "simple_dense": _FEATURES,
    "custom_dense": _FEATURES,
    "my_custom_layer": _FEATURES,
    "dropout": _FEATURES,
    "batch_norm_dropout_block": _FEATURES,
    "lambda_abs": _FEATURES,
    "lambda_my_relu": _FEATURES,
    "identity_block": _IMAGE,
    "cnn_residual": _IMAGE,
    "dnn_residual": {},  # the input width must equal ``neurons``
    "custom_dense_stack": _FEATURES,
    "my_custom_layer_stack": _FEATURES,
    "linear_regression": _FEATURES,
    "mnist_sequential": _FEATURES,
    "my_model": _FEATURES,
    "my_custom_model": _FEATURES,
    "flatten_simple_dense_dropout": _IMAGE,
    "lambda_abs_classifier": _IMAGE,
    "lambda_my_relu_classifier": _IMAGE,
    "multi_input_model": _FEATURES,
    "shared_dense_two_output": _FEATURES,
    "wide_and_deep": _FEATURES,
    "my_residual": {1: (1, 7), 2: (1, 7), 3: (1, 3)},
    "resnet": {1: (3, 9), 2: (3, 9), 3: (1, 3)},  # its 3x3 max pool needs 3 pixels
}


# -- values and arrays ----------------------------------------------------------------------


def float32_values(max_magnitude=1e4, tiny=True, negative=True):
    """Finite float32 numbers mixing magnitudes: zero, ordinary values in [-1, 1], large ones
    up to ``max_magnitude``, tiny ones down to the smallest normal float32 (``tiny``), and
    their negatives (``negative``)."""
    high = _float32_at_most(max_magnitude)
    low = -high if negative else 0.0
    finite = {"width": 32, "allow_nan": False, "allow_infinity": False, "allow_subnormal": False}
    parts = [
        st.floats(max(low, -1.0), min(high, 1.0), **finite),
        st.floats(low, high, **finite),
    ]
    if tiny:
        small = st.floats(FLOAT32_TINY, _float32_at_most(1e-6), **finite)
        parts.append((small | small.map(lambda v: -v)) if negative else small)
    return st.one_of(*parts)


def batch_sizes(max_size=5):
    """Batch sizes from 1 (the edge case that shrinking heads for) to ``max_size``."""
    return st.integers(1, max_size)


def _axis_index(axis, rank):
    """``axis`` (negative counts from the end) as an index into a rank-``rank`` shape, or
    None when that shape has no such axis."""
    index = axis + rank if axis < 0 else axis
    return index if 1 <= index < rank else None


def _shape_list(spec):
    """The input shapes of a ``CheckSpec``, a list of shapes, or a single shape."""
    described = getattr(spec, "inputs", None)
    if described is not None and not all(s.name is None and s.is_float for s in described.inputs):
        raise ValueError(f"{spec.label} has named, integer or bool inputs: draw them with call_inputs()")
    shapes = getattr(spec, "input_shapes", spec)
    shapes = list(shapes)
    if shapes and all(isinstance(d, (int, np.integer)) for d in shapes):
        shapes = [shapes]
    shapes = [tuple(int(d) for d in shape) for shape in shapes]
    if not shapes or any(len(shape) < 2 for shape in shapes):
        raise ValueError(f"need shapes with a batch dimension and at least one more: {spec!r}")
    return shapes


@st.composite
def _shapes(draw, shapes, batch_size, free_axes):
    batch = draw(batch_sizes() if batch_size is None else _as_strategy(batch_size))
    sizes = {}
    for axis, bounds in sorted(dict(free_axes or {}).items()):
        if axis == 0:
            raise ValueError("axis 0 is the batch axis: set batch_size instead")
        sizes[axis] = draw(_as_strategy(bounds))
    drawn = []
    for shape in shapes:
        shape = [batch] + list(shape[1:])
        for axis, size in sizes.items():
            index = _axis_index(axis, len(shape))
            if index is not None:
                shape[index] = size
        drawn.append(tuple(shape))
    return drawn


def input_shapes(shape, batch_size=None, free_axes=None):
    """One shape like ``shape`` (batch first) with the batch size drawn from ``batch_size``
    (``batch_sizes()`` when None; an int fixes it) and each axis of ``free_axes``
    (``{axis: (low, high)}``, negative axes allowed) drawn in its inclusive range."""
    return _shapes(_shape_list(shape), batch_size, free_axes).map(lambda shapes: shapes[0])


@st.composite
def _arrays(draw, shapes, elements, dtype):
    arrays = [draw(hnp.arrays(dtype, shape, elements=elements)) for shape in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def input_arrays(spec, batch_size=None, elements=None, free_axes=None, dtype="float32"):
    """Inputs for ``spec``: a ``CheckSpec``, a list of shapes, or one shape (batch first).

    One batch size is drawn for all inputs (see ``input_shapes`` for ``batch_size`` and
    ``free_axes``); each free axis is drawn once and applied to every input that has it.
    Elements come from ``elements`` (``float32_values()`` by default). The result is one
    NumPy array for one input, a list of arrays for several, as Keras expects them.
    """
    elements = float32_values() if elements is None else elements
    shapes = _shapes(_shape_list(spec), batch_size, free_axes)
    return shapes.flatmap(lambda drawn: _arrays(drawn, elements, dtype))


def _described(spec):
    from conformance.inputs import CallInputs

    described = getattr(spec, "inputs", spec)
    return described if isinstance(described, CallInputs) else CallInputs.of(inputs=list(described))


@st.composite
def _padding_masks(draw, shape):
    """Bool masks of ``shape``: along the last axis each row True for a drawn length (at
    least one), then False; one length per batch element, as ``conformance.inputs`` draws."""
    lengths = draw(st.lists(st.integers(1, shape[-1]), min_size=shape[0], max_size=shape[0]))
    rows = np.arange(shape[-1])[None, :] < np.asarray(lengths)[:, None]
    rows = rows.reshape((shape[0],) + (1,) * (len(shape) - 2) + (shape[-1],))
    return np.broadcast_to(rows, shape).copy()


def _elements_of(spec, floats):
    if spec.is_int:
        return st.integers(int(spec.low), int(spec.high) - 1)
    if spec.low is None and spec.high is None:
        return floats
    low = spec.high - 1e4 if spec.low is None else spec.low  # a one-sided domain spans 1e4
    high = spec.low + 1e4 if spec.high is None else spec.high
    return st.floats(_float32_at_least(low), _float32_at_most(high), exclude_min=spec.low is not None,
                     exclude_max=spec.high is not None, width=32, allow_subnormal=False)


@st.composite
def _call_values(draw, described, shapes, floats):
    values = {}
    for (key, spec), shape in zip(described, shapes):
        if spec.is_bool:
            values[key] = draw(_padding_masks(shape))
        else:
            dtype = "float32" if spec.dtype == "bfloat16" else spec.dtype
            values[key] = draw(hnp.arrays(dtype, shape, elements=_elements_of(spec, floats)))
    return values


def call_inputs(spec, batch_size=None, elements=None, free_axes=None):
    """Every input of ``spec`` (a ``CheckSpec``, a ``CallInputs`` or a list of input
    descriptions such as ``["query=2,5,8", "3,6:int32@0..20", "mask=2,5:bool"]``) as
    ``{key: array}``: one batch size for all (see ``input_shapes``), each free axis drawn once
    for every input that has it (so a mask keeps its sequence's length), floats from
    ``elements`` (``float32_values()``) within any declared bounds, ids in ``[low, high)``,
    bools as padding masks. Call a layer with them through ``spec.call(layer, values)``."""
    described = _described(spec)
    floats = float32_values() if elements is None else elements
    shapes = _shapes([s.shape for s in described.inputs], batch_size, free_axes)
    return shapes.flatmap(lambda drawn: _call_values(described, drawn, floats))


# -- constructor kwargs -------------------------------------------------------------------


def _float32_at_least(value):
    rounded = np.float32(value)
    return float(rounded if rounded >= value else np.nextafter(rounded, np.float32(np.inf)))


def _float32_at_most(value):
    rounded = np.float32(value)
    return float(rounded if rounded <= value else np.nextafter(rounded, np.float32(-np.inf)))


def _as_strategy(declared):
    """A strategy from a declaration: a strategy as it is; ``(low, high)`` an inclusive
    range (integers if both are ints, else float32 floats); a list a choice; else constant."""
    if isinstance(declared, st.SearchStrategy):
        return declared
    if isinstance(declared, tuple) and len(declared) == 2:
        low, high = declared
        if isinstance(low, (int, np.integer)) and isinstance(high, (int, np.integer)):
            return st.integers(int(low), int(high))
        return st.floats(_float32_at_least(low), _float32_at_most(high), width=32)
    if isinstance(declared, list):
        return st.sampled_from(declared)
    return st.just(declared)


def layer_kwargs(ranges, **fixed):
    """A dict of constructor kwargs: each entry of ``ranges`` (and of ``fixed``, which wins)
    is ``(1, 8)`` (inclusive ints), ``(0.0, 0.9)`` (float32 floats), ``["relu", None]`` (a
    choice), a strategy, or a constant. A tuple meant as a constant, such as
    ``kernel_size=(3, 3)``, must be wrapped: ``st.just((3, 3))``."""
    merged = dict(ranges)
    merged.update(fixed)
    return st.fixed_dictionaries({key: _as_strategy(value) for key, value in merged.items()})


# -- registered references ------------------------------------------------------------------


def _reference(name):
    from conformance import references  # imports TensorFlow: only when a reference is asked for

    return references.get(name)


def reference_kwargs(name, **overrides):
    """Kwargs for the reference ``name``: its defaults, with the hyperparameters of
    ``KWARG_RANGES`` drawn, and ``overrides`` (declared as in ``layer_kwargs``) on top."""
    reference = _reference(name)
    ranges = {key: st.just(value) for key, value in reference.default_kwargs.items()}
    ranges.update(KWARG_RANGES.get(name, {}))
    ranges.update(overrides)
    return layer_kwargs(ranges)


def reference_input_shapes(name, kwargs=None, batch_size=None, free_axes=None):
    """The input shapes (a list, batch first) of reference ``name`` built with ``kwargs``:
    the batch size drawn, and the axes of ``FREE_AXES[name]`` (or ``free_axes``) drawn."""
    reference = _reference(name)
    axes = FREE_AXES.get(name, {}) if free_axes is None else free_axes
    return _shapes(reference.shapes(**(kwargs or {})), batch_size, axes)


def reference_inputs(name, kwargs=None, batch_size=None, elements=None, free_axes=None):
    """Inputs for reference ``name`` built with ``kwargs``: an array, or a list of arrays."""
    elements = float32_values() if elements is None else elements
    shapes = reference_input_shapes(name, kwargs, batch_size, free_axes)
    return shapes.flatmap(lambda drawn: _arrays(drawn, elements, "float32"))


def reference_examples(name, batch_size=None, elements=None, **overrides):
    """``(kwargs, inputs)`` pairs for reference ``name``: kwargs drawn as by
    ``reference_kwargs(name, **overrides)``, then inputs that fit them."""
    return reference_kwargs(name, **overrides).flatmap(
        lambda kwargs: st.tuples(
            st.just(kwargs), reference_inputs(name, kwargs, batch_size, elements)
        )
    )
