"""The reference checks catch their broken layers and pass correct ones."""

import dataclasses

import pytest

from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import reference as broken
from tests.family_contract import family_tests

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "reference", broken
)


def _against_itself(name, **kwargs):
    return dataclasses.replace(spec_for_reference(name, **kwargs), reference=name)


def _normal_dense():
    """Keras's Dense initialised like SimpleDense: the same function, another class."""
    return CheckSpec(
        keras.layers.Dense, [(4, 16)],
        # a config, not an instance: Keras 2 repeats a reused unseeded initializer's values
        {"units": 8, "kernel_initializer": {"class_name": "RandomNormal", "config": {"stddev": 0.05}}},
        reference="simple_dense", reference_kwargs={"units": 8},
    )


GOOD = [
    pytest.param(_against_itself("simple_dense", activation="relu"), id="simple_dense"),
    pytest.param(_normal_dense(), id="keras-Dense-vs-simple_dense"),
    pytest.param(CheckSpec(keras.layers.Dropout, [(8, 32)], {"rate": 0.3}, reference="dropout"),
                 id="keras-Dropout-vs-dropout"),
    pytest.param(_against_itself("batch_norm_dropout_block"), id="batch_norm_dropout_block"),
    pytest.param(_against_itself("wide_and_deep"), id="wide_and_deep"),
]


def test_every_broken_layer_names_its_reference():
    classes = {cls for cases in broken.BROKEN.values() for cls, _, _ in cases}
    assert all("reference" in broken.SPEC_OPTIONS.get(cls, {}) for cls in classes)


@pytest.mark.parametrize("spec", GOOD)
def test_checks_pass_correct_layers(spec):
    results = [run_check(check_id, spec) for check_id in CHECKS]
    bad = [f"{r.check}: {r.status}: {r.message}" for r in results if r.status not in ("passed", "skipped")]
    assert not bad
    skipped = {r.check for r in results if r.status == "skipped"}
    stochastic = "stochastic_in_training" in spec.reference_entry().traits
    assert skipped == (set() if stochastic else {"check_reference_stochastic_statistics"})


def test_initialization_tells_glorot_uniform_from_normal_005():
    spec = CheckSpec(keras.layers.Dense, [(4, 16)], {"units": 8},
                     reference="simple_dense", reference_kwargs={"units": 8})
    result = run_check("check_reference_initialization", spec)
    assert result.status == "failed" and "'kernel'" in result.message, result.message


def test_reference_checks_skip_without_a_reference():
    spec = dataclasses.replace(spec_for_reference("simple_dense"), reference=None)
    result = run_check("check_reference_outputs", spec)
    assert result.status == "skipped" and "reference" in result.message
