"""The quantization checks catch their broken layers, pass Keras's own quantizable layers and
skip, with the reason, what Keras cannot quantize."""

import numpy as np
import pytest

import keras_compat as compat
from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec
from examples.broken_layers import quantization as broken
from tests.family_contract import family_tests

CHECKS, test_every_check_has_a_broken_layer, _fails_its_broken_layer = family_tests("quantization", broken)
keras_3_only = pytest.mark.skipif(not compat.QUANTIZES_MODELS, reason="model.quantize() is Keras 3 only")
test_check_fails_its_broken_layer = keras_3_only(_fails_its_broken_layer)

GOOD = [
    pytest.param(CheckSpec(keras.layers.MultiHeadAttention, inputs=["query=3,5,8", "value=3,5,8"],
                           kwargs={"num_heads": 2, "key_dim": 4}, tier="full"), id="MultiHeadAttention"),
    pytest.param(CheckSpec(keras.layers.Embedding, inputs=["3,5:int32@0..20"],
                           kwargs={"input_dim": 20, "output_dim": 6}, tier="full"), id="Embedding"),
    pytest.param(CheckSpec(keras.layers.Dense, inputs=["3,7"], kwargs={"units": 4}, tier="full"), id="Dense"),
]


@keras_3_only
@pytest.mark.parametrize("check_id", CHECKS)
@pytest.mark.parametrize("spec", GOOD)
def test_keras_quantizable_layers_pass(check_id, spec):
    result = run_check(check_id, spec)
    assert result.status == "passed", result.message


@pytest.mark.parametrize("check_id", CHECKS)
def test_nothing_quantizable_skips_with_the_reason(check_id):
    result = run_check(check_id, CheckSpec(keras.layers.LayerNormalization, inputs=["3,7"], tier="full"))
    assert result.status == "skipped"
    assert ("nothing in the target is quantizable" if compat.QUANTIZES_MODELS else "needs Keras 3") \
        in result.message


class _SubclassedDense(keras.layers.Dense):
    pass


@keras_3_only
def test_a_dense_subclass_keras_leaves_alone_skips_with_keras_reason():
    result = run_check("check_quantized_outputs_close",
                       CheckSpec(_SubclassedDense, inputs=["3,7"], kwargs={"units": 4}))
    assert result.status == "skipped"
    assert "quantized none of" in result.message and "_SubclassedDense" in result.message


@keras_3_only
def test_nested_quantized_sublayers_round_trip_their_weights():
    # MultiHeadAttention makes its EinsumDense sublayers itself: its config cannot record
    # their quantization, so the check takes the weights file, which must keep the int8 values.
    from conformance.checks import quantization
    from conformance.isolation import isolated

    spec = GOOD[0].values[0]
    with isolated():  # removes the weights file
        _round_trip_nested(quantization, spec)


def _round_trip_nested(quantization, spec):
    model, done, x, _ = quantization._quantized(spec, "int8")
    assert quantization._recorded_policies(model) < len(done) == 4
    expected = quantization.forward(spec, model, x)
    fresh, seen = quantization._weights_round_trip(spec, model, x)
    assert [mode for _, mode in quantization._modes(fresh)] == ["int8"] * 4
    assert quantization.mismatch(expected, seen, 1e-6) is None


def test_the_error_bound_is_relative_and_ignores_declared_infinities():
    from conformance.checks.quantization import _quantization_error

    before = np.array([[1.0, -2.0, -np.inf], [0.5, 3.0, -np.inf]])
    assert _quantization_error(before, before * 1.05) is None  # 5%: within int8's error
    assert "root-mean-square difference" in _quantization_error(before, before * 1.5)
    moved = before.copy()
    moved[0, 2] = 0.0
    assert "finite in one and not the other" in _quantization_error(before, moved)


@keras_3_only
def test_a_quantized_layer_at_the_top_takes_the_keras_file_path():
    # Dense's own config records its int8 policy: the .keras round trip is the one checked.
    from conformance.checks import quantization
    from conformance.isolation import isolated

    with isolated():
        model, done, _, _ = quantization._quantized(GOOD[2].values[0], "int8")
        assert quantization._recorded_policies(model) >= len(done) == 1
