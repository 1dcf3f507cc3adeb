"""The model checks catch their broken models and pass correct ones."""

import pytest

from conformance.catalogue import all_checks
from conformance.compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import model as broken

CHECKS = [c.id for c in all_checks(family="model")]
BROKEN_CASES = [
    pytest.param(check_id, cls, kwargs, shapes, id=f"{check_id}-{cls.__name__}")
    for check_id, cases in broken.BROKEN.items()
    for cls, kwargs, shapes in cases
]
GOOD = [
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),  # two inputs, two outputs
    pytest.param(spec_for_reference("shared_dense_two_output"), id="shared_dense_two_output"),
    pytest.param(spec_for_reference("resnet"), id="resnet"),  # batch normalisation
    pytest.param(spec_for_reference("flatten_simple_dense_dropout"), id="flatten_simple_dense_dropout"),
]


def test_every_model_check_has_a_broken_model():
    assert set(CHECKS) == set(broken.BROKEN)


@pytest.mark.parametrize("check_id, cls, kwargs, shapes", BROKEN_CASES)
def test_check_fails_its_broken_model(check_id, cls, kwargs, shapes):
    result = run_check(check_id, CheckSpec(cls, shapes, kwargs))
    assert result.status == "failed", result.message
    assert check_id in result.message and "Expected" in result.message and "saw" in result.message


@pytest.mark.parametrize("spec", GOOD)
def test_checks_pass_correct_models(spec):
    results = [run_check(check_id, spec) for check_id in CHECKS]
    assert not [f"{r.check}: {r.status}: {r.message}" for r in results if r.status != "passed"]


def test_model_checks_skip_layers():
    result = run_check(CHECKS[0], CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4}))
    assert result.status == "skipped" and "models only" in result.message
