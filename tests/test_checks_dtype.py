"""The dtype checks catch their broken layers and pass correct ones."""

import pytest

from conformance.catalogue import all_checks
from conformance.compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import dtype as broken

CHECKS = [c.id for c in all_checks(family="dtype")]
BROKEN_CASES = [
    pytest.param(check_id, cls, kwargs, shapes, id=f"{check_id}-{cls.__name__}")
    for check_id, cases in broken.BROKEN.items()
    for cls, kwargs, shapes in cases
]
GOOD = [
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(CheckSpec(keras.layers.Concatenate, [(3, 4), (3, 5)]), id="Concatenate"),
    pytest.param(spec_for_reference("batch_norm_dropout_block"), id="batch_norm_dropout_block"),
    pytest.param(spec_for_reference("mnist_sequential"), id="mnist_sequential"),  # softmax head
]


class Float32HeadModel(keras.Model):
    """The mixed-precision guide's pattern: the output layer alone is given dtype='float32'."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(3, activation="softmax", dtype="float32")

    def call(self, inputs):
        return self.head(self.hidden(inputs))


def test_every_dtype_check_has_a_broken_layer():
    assert set(CHECKS) == set(broken.BROKEN)


@pytest.mark.parametrize("check_id, cls, kwargs, shapes", BROKEN_CASES)
def test_check_fails_its_broken_layer(check_id, cls, kwargs, shapes):
    result = run_check(check_id, CheckSpec(cls, shapes, kwargs))
    assert result.status == "failed", result.message
    assert check_id in result.message and "Expected" in result.message and "saw" in result.message


@pytest.mark.parametrize("spec", GOOD)
@pytest.mark.parametrize("check_id", CHECKS)
def test_check_passes_correct_layers(check_id, spec):
    result = run_check(check_id, spec)
    assert result.status in ("passed", "skipped"), result.message


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
