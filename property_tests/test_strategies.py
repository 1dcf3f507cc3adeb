"""conformance.strategies: what each strategy draws, the module's worked example, and that
``conformance`` imports without hypothesis."""

import ast
import pathlib
import subprocess
import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_models
from conformance import strategies as cst
from conformance.spec import spec_for_reference

ROOT = pathlib.Path(__file__).resolve().parents[1]


@given(cst.float32_values())
def test_float32_values_are_finite_normal_float32_within_the_magnitude(value):
    assert np.isfinite(value) and abs(value) <= 1e4
    assert value == float(np.float32(value))
    assert value == 0.0 or abs(value) >= cst.FLOAT32_TINY


def test_float32_values_mix_large_tiny_and_negative_values():
    seen = []

    @settings(max_examples=100, database=None)
    @given(cst.float32_values())
    def collect(value):
        seen.append(value)

    collect()
    assert any(v < 0 for v in seen) and any(abs(v) > 10 for v in seen)
    assert any(0 < abs(v) < 1e-5 for v in seen)


@given(st.data())
def test_input_arrays_share_one_batch_size_and_draw_the_free_axes(data):
    first, second = data.draw(cst.input_arrays([(4, 6), (4, 3, 2)], free_axes={-1: (1, 9)}))
    assert first.dtype == second.dtype == np.float32
    assert first.shape[0] == second.shape[0] and 1 <= first.shape[0] <= 5
    assert first.shape[1] == second.shape[2] and 1 <= first.shape[1] <= 9
    assert second.shape[1] == 3


@given(st.data())
def test_input_arrays_take_a_check_spec_and_a_fixed_batch_size(data):
    x = data.draw(cst.input_arrays(spec_for_reference("simple_dense"), batch_size=1))
    assert x.shape == (1, 16)
    assert data.draw(cst.input_shapes((2, 5, 7), batch_size=3, free_axes={1: (2, 2)})) == (3, 2, 7)


@given(cst.call_inputs(["query=4,5,8", "ids=4,5:int32@3..7", "mask=4,5:bool", "scale=4,1@0.."],
                       free_axes={1: (1, 6)}))
def test_call_inputs_follow_each_declared_domain(values):
    query, ids, mask, scale = values["query"], values["ids"], values["mask"], values["scale"]
    assert query.shape[:2] == ids.shape == mask.shape  # one batch size, one drawn length
    assert ids.dtype == np.int32 and ids.min() >= 3 and ids.max() <= 6
    assert mask.dtype == bool and mask[:, 0].all()
    assert not np.any(np.diff(mask.astype(int), axis=-1) > 0)  # True, then False
    assert np.all(scale > 0)


@given(st.data())
def test_call_inputs_drive_a_keyword_called_layer(data):
    from conformance.spec import CheckSpec
    from keras_compat import keras

    spec = CheckSpec(keras.layers.MultiHeadAttention, kwargs={"num_heads": 1, "key_dim": 2},
                     inputs=["query=2,3,4", "value=2,3,4"])
    values = data.draw(cst.call_inputs(spec, elements=st.floats(-1, 1, width=32)))
    outputs = spec.call(spec.new(**spec.kwargs), values)
    assert tuple(outputs.shape) == values["query"].shape


def test_input_arrays_refuse_inputs_they_cannot_draw():
    from conformance.spec import CheckSpec
    from keras_compat import keras

    with pytest.raises(ValueError, match="call_inputs"):
        cst.input_arrays(CheckSpec(keras.layers.Embedding, inputs=["3,4:int32"],
                                   kwargs={"input_dim": 10, "output_dim": 2}))


@given(
    cst.layer_kwargs(
        {
            "units": (1, 8),
            "rate": (0.0, 0.9),
            "activation": ["relu", None],
            "size": st.just((3, 3)),
        },
        name="fixed",
    )
)
def test_layer_kwargs_follow_their_declarations(kwargs):
    assert isinstance(kwargs["units"], int) and 1 <= kwargs["units"] <= 8
    assert isinstance(kwargs["rate"], float) and 0.0 <= kwargs["rate"] <= 0.9
    assert kwargs["activation"] in ("relu", None)
    assert kwargs["size"] == (3, 3) and kwargs["name"] == "fixed"


@pytest.mark.parametrize("name", reference_models.names())
def test_reference_kwargs_have_the_reference_arguments(name):
    @given(cst.reference_kwargs(name))
    def check(kwargs):
        assert set(kwargs) == set(reference_models.get(name).default_kwargs)

    check()


@settings(max_examples=20)  # image-sized arrays: slow to generate in bulk
@given(cst.reference_examples("cnn_residual", filters=3))
def test_reference_examples_fit_their_kwargs(case):
    kwargs, x = case
    assert kwargs["filters"] == 3 and 1 <= kwargs["layers"] <= 3
    assert x.ndim == 4 and x.shape[-1] == 3


def test_unknown_reference_names_the_known_ones():
    with pytest.raises(KeyError, match="simple_dense"):
        cst.reference_kwargs("no_such_reference")


def _worked_example():
    doc = cst.__doc__
    lines = doc[doc.index("::\n") + 3 : doc.index("The same works for")].splitlines()
    return "\n".join(line[4:] for line in lines)


def test_the_worked_example_runs(monkeypatch):
    """The docstring's example, verbatim, with SimpleDense standing in for MyDense."""
    from reference_models.layers.simple_dense import SimpleDense

    package = types.ModuleType("mypackage")
    layers = types.ModuleType("mypackage.layers")
    layers.MyDense = SimpleDense
    package.layers = layers
    monkeypatch.setitem(sys.modules, "mypackage", package)
    monkeypatch.setitem(sys.modules, "mypackage.layers", layers)
    namespace = {}
    exec(compile(_worked_example(), "worked_example", "exec"), namespace)
    namespace["test_my_dense_matches_its_formula"]()


def _imports_strategies(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        if any(name == "strategies" or name.endswith(".strategies") for name in names):
            if not any(name.startswith("hypothesis") for name in names):
                return True
    return False


def test_nothing_in_the_packages_imports_the_strategies_module():
    sources = sorted((ROOT / "conformance").rglob("*.py")) + sorted(
        (ROOT / "reference_models").rglob("*.py")
    )
    importing = [
        str(path.relative_to(ROOT)) for path in sources
        if path.name != "strategies.py" and _imports_strategies(path)
    ]
    assert not importing, f"only tests may import conformance.strategies: {importing}"


def test_conformance_imports_without_hypothesis():
    code = "import sys; sys.modules['hypothesis'] = None; import conformance; conformance.__all__"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
