"""The dtype checks catch their broken layers and pass correct ones."""

import pytest

from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import dtype as broken
from tests.family_contract import family_tests, passes_correct_targets

GOOD = [
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(CheckSpec(keras.layers.Concatenate, [(3, 4), (3, 5)]), id="Concatenate"),
    pytest.param(spec_for_reference("batch_norm_dropout_block"), id="batch_norm_dropout_block"),
    pytest.param(spec_for_reference("mnist_sequential"), id="mnist_sequential"),  # softmax head
]

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "dtype", broken
)
test_check_passes_correct_layers = passes_correct_targets(CHECKS, GOOD)


class Float32HeadModel(keras.Model):
    """The mixed-precision guide's pattern: the output layer alone is given dtype='float32'."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(3, activation="softmax", dtype="float32")

    def call(self, inputs):
        return self.head(self.hidden(inputs))


def test_an_explicit_float32_output_layer_is_allowed_under_mixed_precision():
    result = run_check("check_mixed_precision", CheckSpec(Float32HeadModel, [(4, 5)]))
    assert result.status == "passed", result.message


@pytest.mark.parametrize("check_id, trait", [("check_mixed_precision", "no_mixed_precision"),
                                             ("check_float64_policy", "no_float64")])
def test_declared_traits_skip(check_id, trait):
    spec = CheckSpec(broken.Float32PinnedDense, [(4, 6)], {"units": 3}, traits={trait})
    result = run_check(check_id, spec)
    assert result.status == "skipped" and trait in result.message


def test_the_global_policy_is_restored():
    before = keras.mixed_precision.global_policy().name
    run_check("check_mixed_precision", CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 2}))
    run_check("check_float64_policy", CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 2}))
    assert keras.mixed_precision.global_policy().name == before
