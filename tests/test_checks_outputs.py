"""The outputs checks catch their broken layers and pass correct ones; no check passes on a
layer whose outputs are NaN or None."""

import pytest

from conformance.runner import run_check, run_spec
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import outputs as broken
from keras_compat import keras
from tests.family_contract import family_tests, passes_correct_targets

GOOD = [
    pytest.param(CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4}), id="Dense"),
    pytest.param(CheckSpec(keras.layers.Embedding, inputs=["3,6:int32@0..20"],
                           kwargs={"input_dim": 20, "output_dim": 4}), id="Embedding"),
    pytest.param(CheckSpec(keras.layers.LayerNormalization, inputs=["2,5,3"]), id="LayerNormalization"),
    pytest.param(spec_for_reference("batch_norm_dropout_block"), id="batch_norm_dropout_block"),
]

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "outputs", broken
)
test_check_passes_correct_layers = passes_correct_targets(CHECKS, GOOD)


class AllNaN(keras.layers.Layer):
    def call(self, inputs):
        return inputs * float("nan")


class ReturnsNone(keras.layers.Layer):
    def call(self, inputs):
        return None


@pytest.mark.parametrize("cls, reporter", [(AllNaN, "check_outputs_finite"),
                                           (ReturnsNone, "check_call_returns_tensors")])
def test_no_check_passes_on_undefined_outputs(cls, reporter):
    report = run_spec(CheckSpec(cls, [(3, 4)]))
    statuses = {r.check: r.status for r in report.results}
    assert statuses[reporter] == "failed"
    assert "passed" not in statuses.values(), statuses
    skipped = [r for r in report.results if r.check != reporter]
    assert all(r.status == "skipped" for r in skipped)
    assert all(reporter in r.message for r in skipped if r.message.startswith("not run"))


class OptionalState(keras.layers.Layer):
    """Returns ``(outputs, state)``, the state None when none was given (documented)."""

    def call(self, inputs, state=None):
        return inputs * 2.0, state


class OnlyNone(keras.layers.Layer):
    def call(self, inputs):
        return None, {"cache": None}


def test_a_none_among_the_outputs_is_allowed_and_every_check_runs():
    report = run_spec(CheckSpec(OptionalState, [(3, 4)]))
    statuses = {r.check: r.status for r in report.results}
    assert statuses["check_call_returns_tensors"] == "passed"
    assert not [r.message for r in report.results if r.message.startswith("not run")]


def test_a_structure_of_only_none_is_no_output():
    report = run_spec(CheckSpec(OnlyNone, [(3, 4)]))
    result = next(r for r in report.results if r.check == "check_call_returns_tensors")
    assert result.status == "failed" and "only None" in result.message


def test_float_inputs_to_an_embedding_get_the_integer_ids_hint():
    spec = CheckSpec(keras.layers.Embedding, inputs=["3,5"], kwargs={"input_dim": 20, "output_dim": 4})
    result = run_check("check_outputs_finite", spec)
    assert result.status == "failed"
    assert "declare integer ids (--input 3,5:int32@0..20)" in result.message


def test_a_target_unusable_on_float_ids_is_told_to_declare_integer_ids():
    class FloatIdsLookup(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = keras.layers.Embedding(20, 4)

        def call(self, inputs):
            raise ValueError("indices[0] = -1 is not in [0, 20)")

    report = run_spec(CheckSpec(FloatIdsLookup, inputs=["3,5"]))
    assert report.error and "declare integer ids (--input 3,5:int32@0..20)" in report.error
