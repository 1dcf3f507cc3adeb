"""The shapes checks catch their broken layers and pass correct ones."""

import pytest

from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import shapes as broken
from tests.family_contract import family_tests

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "shapes", broken
)

GOOD = [
    pytest.param(CheckSpec(keras.layers.Concatenate, [(3, 4), (3, 5)]), id="Concatenate"),
    pytest.param(CheckSpec(keras.layers.LSTM, [(2, 5, 3)], {"units": 4}), id="LSTM"),
    pytest.param(spec_for_reference("identity_block"), id="identity_block"),
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),
]


@pytest.mark.parametrize("spec", GOOD)
def test_checks_pass_correct_layers(spec):
    for check_id in CHECKS:
        result = run_check(check_id, spec)
        assert result.status == "passed", result.message


def test_lying_compute_output_shape_is_named_on_both_versions():
    """Keras 3 takes symbolic shapes from compute_output_shape, Keras 2 from call(): the
    declared shape is compared first, so both versions report the same finding."""
    result = run_check("check_output_shapes_agree", CheckSpec(broken.ShapeLyingDense, [(4, 7)]))
    assert "compute_output_shape" in result.message and "declares (4, 7)" in result.message


def test_unknown_batch_hidden_by_compute_output_shape_is_caught():
    """A correct compute_output_shape spares Keras 3's symbolic call from running call();
    the None-batch trace still reaches the bad reshape."""
    spec = CheckSpec(broken.StaticBatchFlattenWithShape, [(4, 5, 3)])
    result = run_check("check_symbolic_unknown_batch", spec)
    assert result.status == "failed" and "None" in result.message
    # The same layer is otherwise consistent: its shapes agree at a known batch size.
    assert run_check("check_output_shapes_agree", spec).status == "passed"
