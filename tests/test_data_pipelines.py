"""The data-pipeline checks catch their broken targets (a short final batch breaks them) and
pass Keras layers fed from a tf.data.Dataset as from arrays."""

import numpy as np
import pytest

from keras_compat import keras
from conformance.checks import pipelines
from conformance.runner import run_check
from conformance.spec import CheckSpec
from examples.broken_layers import pipelines as broken
from tests.family_contract import family_tests

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "pipelines", broken)

GOOD = [
    pytest.param(CheckSpec(keras.layers.MultiHeadAttention, inputs=["query=3,5,8", "value=3,5,8"],
                           kwargs={"num_heads": 2, "key_dim": 4}, tier="full"), id="MultiHeadAttention"),
    pytest.param(CheckSpec(keras.layers.Dropout, inputs=["3,7"], kwargs={"rate": 0.5}, tier="full"),
                 id="Dropout"),  # random in training: fit runs it with training=False
    pytest.param(CheckSpec(keras.layers.BatchNormalization, inputs=["3,7"], tier="full"),
                 id="BatchNormalization"),  # moving statistics are compared too
]


@pytest.mark.parametrize("check_id", CHECKS)
@pytest.mark.parametrize("spec", GOOD)
def test_keras_layers_pass(check_id, spec):
    result = run_check(check_id, spec)
    assert result.status == "passed", result.message


def test_inference_only_skips_fit_with_the_reason():
    spec = CheckSpec(keras.layers.Dense, inputs=["3,7"], kwargs={"units": 4}, tier="full",
                     traits={"inference_only"})
    result = run_check("check_fit_from_dataset", spec)
    assert result.status == "skipped" and "inference_only" in result.message


def test_the_dataset_keeps_a_short_final_batch_and_several_inputs_apart():
    first, second = np.zeros((10, 3), "float32"), np.ones((10, 2), "float32")
    batches = list(pipelines._dataset([first, second]).as_numpy_iterator())
    (inputs,) = batches[-1]  # one element, the inputs: not taken for (x, y)
    assert [tuple(b[0][0].shape) for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert tuple(inputs[1].shape) == (2, 2)


def test_a_layer_taking_a_list_of_inputs_predicts_from_a_dataset():
    spec = CheckSpec(keras.layers.Concatenate, inputs=["3,4", "3,2"], tier="full")
    result = run_check("check_predict_from_dataset", spec)
    assert result.status == "passed", result.message


def test_in_batch_logits_skip_with_the_reason():
    from examples.tricky_good import inputs_outputs as tricky

    case = dict(tricky.CASES["InBatchLogits"])
    spec = CheckSpec(case.pop("cls"), tier="full", **case)
    for check_id in CHECKS:
        result = run_check(check_id, spec)
        assert result.status == "skipped" and "axes (0, 1) that follow the batch" in result.message


class ReportsTotal(keras.Model):
    """A correct model whose train_step reports its loss as "total", not "loss"."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = keras.layers.Dense(3)

    def call(self, inputs):
        return self.head(inputs)

    def train_step(self, data):
        import tensorflow as tf

        inputs, targets = data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(targets - self(inputs, training=True)))
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return {"total": loss}


def test_a_train_step_reporting_other_names_is_compared_by_them():
    result = run_check("check_fit_from_dataset", CheckSpec(ReportsTotal, inputs=["3,5"], tier="full"))
    assert result.status == "passed", result.message


def test_per_output_losses_named_after_each_models_layers_are_compared_in_order():
    from examples.tricky_good import gradients_dtype as tricky

    # two outputs: fit reports "float32_residual_block_6_loss" for one model, "..._7_loss" for the other
    cls, kwargs, inputs, traits = tricky.CASES["Float32ResidualBlock"]
    spec = CheckSpec(cls, inputs=inputs, kwargs=kwargs, traits=traits, tier="full")
    result = run_check("check_fit_from_dataset", spec)
    assert result.status == "passed", result.message
