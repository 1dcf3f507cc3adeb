"""The gradients checks catch their broken layers and pass correct ones."""

import pytest

from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import gradients as broken
from tests.family_contract import family_tests, passes_correct_targets

GOOD = [
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(CheckSpec(keras.layers.Add, [(3, 4), (3, 4)]), id="Add"),
    pytest.param(spec_for_reference("batch_norm_dropout_block"), id="batch_norm_dropout_block"),
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),
]

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "gradients", broken
)
test_check_passes_correct_layers = passes_correct_targets(CHECKS, GOOD)


def test_weightless_layer_is_skipped_by_weight_checks_but_gets_input_gradients_checked():
    spec = CheckSpec(keras.layers.Add, [(3, 4), (3, 4)])
    statuses = {check_id: run_check(check_id, spec).status for check_id in CHECKS}
    assert statuses == {
        "check_gradients_nonzero": "skipped",
        "check_gradients_match_finite_differences": "passed",
        "check_fit_updates_trainable_weights": "skipped",
        "check_trainable_false_freezes": "skipped",
    }


def test_finite_differences_skip_a_declared_no_float64_layer():
    spec = CheckSpec(broken.CustomGradientReLUDense, [(4, 6)], traits={"no_float64"})
    result = run_check("check_gradients_match_finite_differences", spec)
    assert result.status == "skipped" and "no_float64" in result.message


def test_finite_differences_name_the_wrong_gradient():
    spec = CheckSpec(broken.CustomGradientReLUDense, [(4, 6)], {"units": 5})
    result = run_check("check_gradients_match_finite_differences", spec)
    assert "autodiff" in result.message and "finite differences" in result.message


def test_a_float32_kernel_is_a_precision_limit_not_a_wrong_gradient():
    from examples.broken_layers.dtype import Float32KernelDense

    spec = CheckSpec(Float32KernelDense, [(4, 6)], {"units": 3})
    gradients = run_check("check_gradients_match_finite_differences", spec)
    assert gradients.status == "passed", gradients.message
    precision = run_check("check_float64_policy", spec)
    assert precision.status == "failed"
    assert "float32" in precision.message and "precision" in precision.message


def test_a_wrong_gradient_inside_a_float32_kernel_is_still_found():
    spec = CheckSpec(broken.Float32CustomGradientReLUDense, [(4, 6)], {"units": 5})
    result = run_check("check_gradients_match_finite_differences", spec)
    assert result.status == "failed"
    assert "float32 precision" in result.message and "autodiff" in result.message
