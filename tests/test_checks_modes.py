"""The modes checks catch their broken layers, pass correct ones and honour declarations."""

import pytest

from keras_compat import KERAS_3, keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import modes as broken
from tests.family_contract import family_tests

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "modes", broken
)

# Each passes every modes check (none of them is skipped by any).
GOOD = [
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(spec_for_reference("batch_norm_dropout_block"), id="batch_norm_dropout_block"),
    pytest.param(spec_for_reference("identity_block"), id="identity_block"),
]
# Correct targets some modes checks do not apply to.
OTHER_GOOD = [
    pytest.param(CheckSpec(keras.layers.Dropout, [(3, 7)], {"rate": 0.5}), id="Dropout"),
    pytest.param(spec_for_reference("flatten_simple_dense_dropout"), id="flatten_simple_dense_dropout"),
    pytest.param(CheckSpec(keras.layers.Add, [(3, 4), (3, 4)]), id="Add"),
]


@pytest.mark.parametrize("spec", GOOD)
def test_checks_pass_correct_layers(spec):
    for check_id in CHECKS:
        result = run_check(check_id, spec)
        assert result.status == "passed", result.message


@pytest.mark.parametrize("spec", OTHER_GOOD)
def test_checks_pass_or_skip_other_correct_targets(spec):
    for check_id in CHECKS:
        result = run_check(check_id, spec)
        if check_id == "check_training_updates_nested_state":
            assert result.status == "skipped" and "no BatchNormalization" in result.message
        elif check_id == "check_training_argument_exposed" and spec.cls is keras.layers.Add:
            assert result.status == "skipped" and "does not depend on training" in result.message
        else:
            assert result.status == "passed", result.message


@pytest.mark.parametrize("check_id, cls, trait", [
    ("check_inference_deterministic", broken.AlwaysNoisy, "stochastic_inference"),
    ("check_default_call_is_inference", broken.AlwaysNoisy, "stochastic_inference"),
    ("check_batch_independent_inference", broken.BatchStatsNormalization, "batch_dependent"),
    ("check_inference_mutates_no_variable", broken.CallCountingDense, "stateful_inference"),
])
def test_declared_traits_turn_the_check_into_a_skip(check_id, cls, trait):
    result = run_check(check_id, CheckSpec(cls, [(4, 7)], traits={trait}))
    assert result.status == "skipped" and trait in result.message


def test_state_changed_by_a_call_does_not_count_against_other_contracts():
    """Calls are compared from the same weights, so a layer whose only bug is updating a
    variable in inference fails that contract alone."""
    spec = CheckSpec(broken.AlwaysUpdatedRunningMean, [(4, 7)])
    for check_id in ("check_inference_deterministic", "check_default_call_is_inference",
                     "check_batch_independent_inference"):
        result = run_check(check_id, spec)
        assert result.status == "passed", result.message


def test_a_plain_call_that_trains_fails_both_inference_checks_unless_declared():
    """Keras's RandomFlip declares call(data, training=True): layer(x) flips, which one pair of
    calls can miss (no flip on a batch of 2 a quarter of the time); the trait skips both."""
    spec = CheckSpec(keras.layers.RandomFlip, [(2, 8, 8, 3)], {"mode": "horizontal", "seed": 7})
    # Keras 2's RandomFlip draws from a generator it does not hold as a layer variable.
    checks = ("check_default_call_is_inference",) + (("check_inference_mutates_no_variable",) if KERAS_3 else ())
    for check in checks:
        result = run_check(check, spec)
        assert result.status == "failed", (check, result.message)
        assert "training_by_default" in result.hint
    declared = CheckSpec(keras.layers.RandomFlip, [(2, 8, 8, 3)], {"mode": "horizontal", "seed": 7},
                         traits=("training_by_default",))
    assert run_check("check_default_call_is_inference", declared).status == "skipped"
    assert run_check("check_inference_mutates_no_variable", declared).status == "passed"
