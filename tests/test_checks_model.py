"""The model checks catch their broken models and pass correct ones."""

import pytest

from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import model as broken
from tests.family_contract import family_tests

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "model", broken
)

GOOD = [
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),  # two inputs, two outputs
    pytest.param(spec_for_reference("shared_dense_two_output"), id="shared_dense_two_output"),
    pytest.param(spec_for_reference("resnet"), id="resnet"),  # batch normalisation
    pytest.param(spec_for_reference("flatten_simple_dense_dropout"), id="flatten_simple_dense_dropout"),
]


@pytest.mark.parametrize("spec", GOOD)
def test_checks_pass_correct_models(spec):
    results = [run_check(check_id, spec) for check_id in CHECKS]
    assert not [f"{r.check}: {r.status}: {r.message}" for r in results if r.status != "passed"]


def test_model_checks_skip_layers():
    result = run_check(CHECKS[0], CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4}))
    assert result.status == "skipped" and "models only" in result.message
