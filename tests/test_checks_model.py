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


# -- the training harness: losses and targets in the outputs' structure -------------------------

import numpy as np  # noqa: E402

from conformance.wrapping import TensorOutputs, fit_one_step, losses_and_targets  # noqa: E402


def test_targets_follow_a_nested_output_structure():
    outputs = (np.zeros((3, 2), "float32"), {"b": np.zeros((3, 1), "float32"), "a": np.zeros((3, 4))})
    losses, targets = losses_and_targets(outputs)
    assert losses == ("mse", {"b": "mse", "a": "mse"})
    assert isinstance(targets, tuple) and targets[1]["a"].shape == (3, 4)


def test_only_the_named_batched_float_outputs_carry_a_loss():
    outputs = (np.zeros((3, 2), "float32"), np.zeros((6, 4), "float32"), np.zeros((3, 2), "int32"))
    plain = CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4})
    losses, targets = losses_and_targets(outputs, spec=plain, batch_size=3)
    assert losses == ("mse", None, None)
    # fit slices every target with the batch: one without a batch axis gets a placeholder
    assert targets[1].shape == (3,) and targets[2].shape == (3, 2)
    spec = CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4}, loss_outputs=["1"])
    assert losses_and_targets(outputs, spec=spec)[0] == (None, "mse", None)


class MaskedScores(keras.layers.Layer):
    """Attention output and scores; every output carries the query's padding mask, which
    does not fit the (batch, heads, queries, keys) scores."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        return self.attention(inputs, inputs, return_attention_scores=True)

    def compute_mask(self, inputs, mask=None):
        return [mask, mask]


class CacheOrNone(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(3)

    def call(self, inputs, cache=None):
        return self.dense(inputs), cache


@pytest.mark.parametrize("cls, inputs", [(MaskedScores, ["3,5,4", "mask=3,5:bool"]), (CacheOrNone, ["3,4"])])
def test_a_fit_step_trains_through_masked_scores_and_none_outputs(cls, inputs):
    spec = CheckSpec(cls, inputs=inputs)
    layer = spec.built()
    before = [np.array(w) for w in layer.trainable_weights]
    model = fit_one_step(spec, layer)
    assert any(isinstance(sub, TensorOutputs) for sub in model.layers)
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(before, layer.trainable_weights))


def test_constructor_kwargs_in_keras_serialized_form_make_a_fresh_object_per_instance():
    lstm = {"class_name": "LSTM", "config": {"units": 3}}  # Keras 2's form, without "module"
    spec = CheckSpec(keras.layers.Bidirectional, inputs=["2,5,3"], kwargs={"layer": lstm})
    first, second = spec.new(), spec.new()
    assert first.forward_layer is not second.forward_layer and first.forward_layer.units == 3
    assert spec.kwargs == {"layer": lstm}  # what the user wrote, for reports and other processes
    with pytest.raises(ValueError, match="cannot deserialize 'NoSuchLayer'"):
        CheckSpec(keras.layers.Bidirectional, inputs=["2,5,3"],
                  kwargs={"layer": {"class_name": "NoSuchLayer", "config": {}}})


def test_a_kwargs_factory_is_called_for_each_instance():
    calls = []

    def factory():
        calls.append(1)
        return {"units": 2 + len(calls)}

    spec = CheckSpec(keras.layers.Dense, [(3, 7)], kwargs_factory=factory)
    assert spec.new().units != spec.new().units
    named = CheckSpec(keras.layers.Dense, [(3, 4)], {"units": 1},
                      kwargs_factory="examples.tricky_good.inputs_outputs:candidate_kwargs")
    assert named.constructor_kwargs()["candidates"].shape == (5, 3)
    with pytest.raises(ValueError, match="cannot import"):
        CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 1}, kwargs_factory="no_such_module:f")


def test_inference_only_skips_the_training_based_checks():
    spec = CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4}, traits={"inference_only"})
    for check_id in ("check_gradients_nonzero", "check_fit_updates_trainable_weights"):
        result = run_check(check_id, spec)
        assert result.status == "skipped" and "inference_only" in result.message
    assert run_check("check_inference_deterministic", spec).status == "passed"
