"""The serialization checks catch their broken layers and pass correct ones."""

import dataclasses

import pytest

from conformance.catalogue import all_checks
from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import serialization as broken
from reference_models.layers.lambda_layers import RegisteredLambda, absolute
from reference_models.layers.simple_dense import SimpleDense
from tests.family_contract import family_tests

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "serialization", broken
)

FULL_TIER = {c.id for c in all_checks(family="serialization") if c.tier == "full"}


def _full(spec):
    return dataclasses.replace(spec, tier="full")


# Non-default kwargs, so check_config_keeps_kwargs has something to compare.
GOOD = [
    pytest.param(
        CheckSpec(SimpleDense, [(3, 7)], {"units": 5, "activation": "relu"},
                  import_path="reference_models.layers.simple_dense:SimpleDense"),
        id="SimpleDense-relu",
    ),
    pytest.param(
        CheckSpec(keras.layers.Conv2D, [(2, 6, 6, 3)],
                  {"filters": 2, "kernel_size": 3, "padding": "same", "kernel_initializer": "he_normal"}),
        id="Conv2D-int-kernel-size",
    ),
    pytest.param(
        CheckSpec(RegisteredLambda, [(3, 4)], {"function": absolute},
                  import_path="reference_models.layers.lambda_layers:RegisteredLambda"),
        id="RegisteredLambda",
    ),
    pytest.param(
        CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4, "kernel_initializer": keras.initializers.RandomNormal(
            stddev=0.3), "bias_initializer": {"class_name": "Constant", "config": {"value": 0.5}}},
                  import_path="keras.layers:Dense"),
        id="Dense-initializer-object-and-serialized-form",
    ),
    pytest.param(CheckSpec(keras.layers.TimeDistributed, [(2, 5, 3)],
                           {"layer": {"class_name": "Dense", "config": {"units": 4}}},
                           import_path="keras.layers:TimeDistributed"),
                 id="TimeDistributed-serialized-layer"),
    pytest.param(spec_for_reference("batch_norm_dropout_block", rate=0.25), id="batch_norm_dropout_block"),
    pytest.param(spec_for_reference("wide_and_deep", units=8, activation="tanh"), id="wide_and_deep"),
]


def test_export_and_subprocess_checks_are_full_tier():
    assert FULL_TIER == {"check_fresh_process_load", "check_saved_model_export"}


#: Checks a correct target may skip: every argument of its own is given, none left to vary.
MAY_SKIP = {"check_config_keeps_non_default_kwargs"}


def _failures(check_ids, spec):
    results = [run_check(check_id, spec) for check_id in check_ids]
    return [f"{r.check}: {r.status}: {r.message}" for r in results
            if r.status != "passed" and not (r.status == "skipped" and r.check in MAY_SKIP)]


@pytest.mark.parametrize("spec", GOOD)
def test_fast_checks_pass_correct_layers(spec):
    assert not _failures(sorted(set(CHECKS) - FULL_TIER), spec)


@pytest.mark.parametrize("spec", [GOOD[4]])
def test_full_checks_pass_correct_layers(spec):
    """One multi-input, multi-output subclassed model: each full check starts a process or exports."""
    assert not _failures(sorted(FULL_TIER), _full(spec))


def test_saved_model_export_passes_a_layer():
    assert not _failures(["check_saved_model_export"], _full(GOOD[0].values[0]))


def test_full_checks_skip_in_the_fast_tier():
    result = run_check("check_fresh_process_load", spec_for_reference("simple_dense"))
    assert result.status == "skipped" and "full tier" in result.message


def test_fresh_process_load_needs_an_import_path():
    result = run_check("check_fresh_process_load", CheckSpec(SimpleDense, [(3, 7)], tier="full"))
    assert result.status == "skipped" and "import_path" in result.message


def test_config_keeps_kwargs_skips_when_every_argument_is_default():
    result = run_check("check_config_keeps_kwargs", CheckSpec(SimpleDense, [(3, 7)], {"units": 32}))
    assert result.status == "skipped" and "non-default" in result.message


def test_activation_left_out_of_config_is_named():
    result = run_check("check_config_keeps_kwargs",
                       CheckSpec(broken.ActivationLeftOutOfConfig, [(4, 7)], {"activation": "relu"}))
    assert result.status == "failed" and "'activation'" in result.message


def test_a_keras_object_given_in_any_form_is_compared_as_that_object():
    """A layer given in serialized form is in the config with every entry given (Keras fills in
    the rest); a serialized entry that Keras did not keep is still reported."""
    from conformance.checks.serialization import _given_forms, _holds

    given = keras.layers.Dense(4, use_bias=False)
    saved = keras.saving.serialize_keras_object(given)
    assert _holds(saved, _given_forms("layer", {"class_name": "Dense", "config": {"units": 4}}))
    assert not _holds(saved, _given_forms("layer", {"class_name": "Dense", "config": {"units": 5}}))
    assert not _holds(saved, _given_forms("layer", {"class_name": "Dense", "config": {"use_bias": True}}))
    assert _holds(saved, _given_forms("layer", given))
    policy = keras.saving.serialize_keras_object(keras.DTypePolicy("mixed_float16")) if hasattr(
        keras, "DTypePolicy") else "mixed_float16"
    assert _holds(policy, _given_forms("dtype", "mixed_float16"))
