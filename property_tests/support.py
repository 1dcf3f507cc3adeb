"""What the properties share: the layer factory, drawing, weights, outputs and tolerances."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference_models
from conformance import strategies as cst
from keras_compat import dtype_name, keras, sublayers, weight_name
from conformance.tensors import as_arrays, single_or_list
from reference_models import styles
from reference_models.registry import API_STYLES, SUBCLASSED

#: Largest input magnitude drawn for one layer, and for a whole model (several layers
#: deep, ending in a softmax, where large inputs only test float32 saturation).
LAYER_VALUES = 1e4
MODEL_VALUES = 10.0


class Factory:
    """Makes instances of one registered reference, or of a stand-in for it.

    ``name`` picks the reference: its kwarg ranges, example shapes and API styles. ``cls``
    replaces it by a class of the same constructor (a broken variant), which then is the
    only style; ``builders`` replace the builders of some styles, keeping the others;
    ``fixed`` pins some kwargs instead of drawing them.
    """

    def __init__(self, name, cls=None, builders=None, fixed=None):
        self.name = name
        self.fixed = dict(fixed or {})
        self.reference = reference_models.get(name)
        if cls is not None:
            self.builders = {SUBCLASSED: styles.subclassed(cls)}
        else:
            self.builders = dict(self.reference.builders)
        self.builders.update(builders or {})
        self.cls = cls or self.reference.cls
        self.label = cls.__name__ if cls is not None else name

    @property
    def styles(self):
        return tuple(style for style in API_STYLES if style in self.builders)

    @property
    def kind(self):
        return self.reference.kind

    def __call__(self, shapes=None, style=SUBCLASSED, **kwargs):
        """A new, unbuilt instance in ``style`` for inputs of ``shapes`` (batch first)."""
        kwargs = self.reference.kwargs(**kwargs)
        return self.builders[style](shapes or self.reference.shapes(**kwargs), **kwargs)

    def __repr__(self):
        return f"Factory({self.label})"


def run(prop, factory, **overrides):
    """Run ``prop(factory, data)`` as a hypothesis test under the loaded profile (with
    ``overrides`` to its settings): returns when no counterexample is found, raises the
    property's ``AssertionError`` when one is."""

    @settings(**overrides)
    @given(data=st.data())
    def search(data):
        prop(factory, data)

    search()


def share_of_examples(weight):
    """``settings`` with ``weight`` times the loaded profile's ``max_examples`` (at least 1)."""
    return settings(max_examples=max(1, round(settings().max_examples * weight)))


# -- drawing -----------------------------------------------------------------------------


def draw_kwargs(data, factory):
    fixed = {key: st.just(value) for key, value in factory.fixed.items()}
    return data.draw(cst.reference_kwargs(factory.name, **fixed), label="kwargs")


def draw_style(data, factory):
    if len(factory.styles) == 1:
        return factory.styles[0]
    return data.draw(st.sampled_from(factory.styles), label="style")


def draw_shapes(data, factory, kwargs, batch_size=None):
    return data.draw(
        cst.reference_input_shapes(factory.name, kwargs, batch_size=batch_size), label="shapes"
    )


def draw_inputs(data, shapes, max_magnitude=LAYER_VALUES, label="x"):
    """One array per shape (printed as plain values when a property fails)."""
    values = cst.float32_values(max_magnitude)
    arrays = []
    for index, shape in enumerate(shapes):
        name = label if len(shapes) == 1 else f"{label}[{index}]"
        arrays.append(data.draw(hnp.arrays("float32", shape, elements=values), label=name))
    return single_or_list(arrays)


def draw_seed(data, label):
    return data.draw(st.integers(0, 2**32 - 1), label=label)


def value_range(factory):
    return LAYER_VALUES if factory.kind == "layer" else MODEL_VALUES


# -- weights and outputs --------------------------------------------------------------------


def scramble(obj, seed):
    """New values for every weight of ``obj`` from ``seed``: kernels normal with standard
    deviation 1/sqrt(fan_in) (activations keep their scale through a deep model), other
    weights standard normal (biases, gammas, betas, moving means), moving variances
    uniform in [0.5, 2)."""
    rng = np.random.default_rng(seed)
    for variable in obj.weights:
        shape = tuple(variable.shape)
        name = weight_name(variable)
        if "variance" in name:
            values = rng.uniform(0.5, 2.0, shape)
        elif len(shape) >= 2:
            values = rng.normal(0.0, 1.0 / np.sqrt(np.prod(shape[:-1])), shape)
        else:
            values = rng.normal(0.0, 1.0, shape)
        variable.assign(values.astype(dtype_name(variable.dtype)))


def weight_values(obj):
    return [np.array(variable) for variable in obj.weights]


def outputs(obj, inputs, training=False):
    """The outputs of ``obj`` on ``inputs`` as a list of NumPy arrays."""
    return as_arrays(obj(inputs, training=training))


def output(obj, inputs, training=False):
    """The single output of ``obj`` as a float64 array."""
    (result,) = outputs(obj, inputs, training=training)
    return result.astype("float64")


def find_sublayer(obj, layer_type):
    found = [layer for layer in [obj] + sublayers(obj) if isinstance(layer, layer_type)]
    assert len(found) == 1, f"expected one {layer_type.__name__} in {obj.name}, found {len(found)}"
    return found[0]


# -- NumPy formulas and comparisons -----------------------------------------------------------


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


ACTIVATIONS = {
    None: lambda z: z,
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
}


def assert_within(actual, expected, tolerance, what):
    """Every element of ``actual`` within ``tolerance`` (broadcast) of ``expected``."""
    actual = np.asarray(actual, dtype="float64")
    expected = np.asarray(expected, dtype="float64")
    assert actual.shape == expected.shape, (
        f"{what}: output shape {actual.shape}, expected {expected.shape}"
    )
    tolerance = np.broadcast_to(np.asarray(tolerance, dtype="float64"), expected.shape)
    error = np.abs(actual - expected)
    bad = ~(error <= tolerance)  # NaN counts as bad
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} elements off; at {index} got "
            f"{actual[index]:.9g}, expected {expected[index]:.9g} "
            f"(tolerance {tolerance[index]:.3g})"
        )


def assert_bit_identical(actual, expected, what):
    """Two lists of arrays with equal dtypes, shapes and bytes."""
    assert len(actual) == len(expected), f"{what}: {len(actual)} arrays, expected {len(expected)}"
    for index, (a, b) in enumerate(zip(actual, expected)):
        a, b = np.asarray(a), np.asarray(b)
        assert (a.dtype, a.shape) == (b.dtype, b.shape), (
            f"{what}: array {index} is {a.dtype}{a.shape}, expected {b.dtype}{b.shape}"
        )
        if a.tobytes() != b.tobytes():
            bits = f"u{a.dtype.itemsize}"
            differ = np.argwhere(a.view(bits) != b.view(bits)) if a.ndim else np.zeros((1, 0), int)
            where = tuple(int(i) for i in differ[0])
            raise AssertionError(
                f"{what}: array {index} differs in {len(differ)} elements; at {where} "
                f"{a[where]} instead of {b[where]}"
            )


def keras_input(shape):
    """A symbolic input for arrays of ``shape`` (batch first)."""
    return keras.Input(shape=tuple(shape[1:]))
