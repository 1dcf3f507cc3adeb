"""The properties hold for the references, for drawn hyperparameters, shapes and values.

Each test runs a share of the hypothesis profile's ``max_examples`` (``ci`` by default,
``HYPOTHESIS_PROFILE=thorough`` for the nightly run): a share under 1 for tests
parametrized over many references, so the suite stays within its time budget.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference_models
from property_tests import properties
from property_tests.support import Factory, share_of_examples

LAYERS = reference_models.names(kind="layer")
EVERY_REFERENCE = reference_models.names()
SEVERAL_STYLES = [name for name in EVERY_REFERENCE if len(reference_models.get(name).styles) > 1]


@pytest.mark.parametrize("name", ["cnn_residual", "dnn_residual", "identity_block"])
@share_of_examples(1.0)
@given(data=st.data())
def test_residual_block_is_its_branch_plus_the_input(name, data):
    properties.property_residual(Factory(name), data)


@pytest.mark.parametrize("name", ["simple_dense", "custom_dense", "my_custom_layer"])
@share_of_examples(1.0)
@given(data=st.data())
def test_dense_layer_matches_the_numpy_formula(name, data):
    properties.property_dense_formula(Factory(name), data)


@pytest.mark.parametrize("name", ["lambda_abs", "lambda_my_relu"])
@share_of_examples(1.0)
@given(data=st.data())
def test_lambda_layer_is_weightless_and_elementwise(name, data):
    properties.property_lambda_elementwise(Factory(name), data)


@pytest.mark.parametrize("name", LAYERS)
@share_of_examples(0.5)
@given(data=st.data())
def test_build_runs_once(name, data):
    properties.property_build_runs_once(Factory(name), data)


@pytest.mark.parametrize("name", EVERY_REFERENCE)
@share_of_examples(0.25)
@given(data=st.data())
def test_keras_and_weights_files_round_trip_bit_identically(name, data):
    properties.property_round_trips(Factory(name), data)


@share_of_examples(1.0)
@given(data=st.data())
def test_dropout_is_identity_in_inference_and_inverted_dropout_in_training(data):
    properties.property_dropout(Factory("dropout"), data)


@share_of_examples(1.0)
@given(data=st.data())
def test_batch_norm_uses_moving_statistics_in_inference_and_batch_ones_in_training(data):
    properties.property_batch_norm(Factory("batch_norm_dropout_block"), data)


@pytest.mark.parametrize("name", EVERY_REFERENCE)
@share_of_examples(0.25)
@given(data=st.data())
def test_inference_is_batch_independent(name, data):
    properties.property_batch_independent(Factory(name), data)


@pytest.mark.parametrize("name", SEVERAL_STYLES)
@share_of_examples(0.25)
@given(data=st.data())
def test_api_styles_agree_after_weight_transfer(name, data):
    properties.property_styles_agree(Factory(name), data)


@share_of_examples(1.0)
@given(data=st.data())
def test_shared_layer_gives_equal_outputs_for_equal_inputs(data):
    properties.property_shared_layer(Factory("shared_dense_two_output"), data)
