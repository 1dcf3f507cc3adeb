"""The masking checks catch their broken layers, pass the built-in layers that use masks,
and follow what each Keras does with a mask a layer cannot use."""

import pytest

import keras_compat as compat
from conformance.runner import run_check
from conformance.spec import CheckSpec
from examples.broken_layers import masking as broken
from keras_compat import keras
from tests.family_contract import family_tests, passes_correct_targets

L = keras.layers
_MASKED = ["2,5,3", "mask=2,5:bool"]

GOOD = [
    pytest.param(CheckSpec(L.LSTM, inputs=_MASKED, kwargs={"units": 3}), id="LSTM"),
    pytest.param(CheckSpec(L.GRU, inputs=_MASKED, kwargs={"units": 3, "return_sequences": True}),
                 id="GRU-sequences"),
    pytest.param(CheckSpec(L.GlobalAveragePooling1D, inputs=_MASKED), id="GlobalAveragePooling1D"),
    pytest.param(CheckSpec(L.Embedding, inputs=["3,6:int32@0..20"],
                           kwargs={"input_dim": 20, "output_dim": 4, "mask_zero": True}), id="Embedding"),
    pytest.param(CheckSpec(L.MultiHeadAttention, kwargs={"num_heads": 2, "key_dim": 4},
                           inputs=["query=2,4,8", "value=2,5,8", "attention_mask=2,4,5:bool"]),
                 id="MultiHeadAttention"),
    pytest.param(CheckSpec(L.Attention, inputs=["2,4,3", "2,5,3", "mask.0=2,4:bool", "mask.1=2,5:bool"]),
                 id="Attention"),
    pytest.param(CheckSpec(L.LayerNormalization, inputs=["2,5,3"]), id="LayerNormalization"),
    pytest.param(CheckSpec(L.Dense, inputs=["2,5,3"], kwargs={"units": 2}), id="Dense-on-sequences"),
    pytest.param(CheckSpec(L.Masking, inputs=["2,5,3"]), id="Masking"),
    pytest.param(CheckSpec(L.Conv1D, inputs=["2,10,3"], kwargs={"filters": 2, "kernel_size": 3}),
                 id="Conv1D"),
]

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "masking", broken
)
test_check_passes_correct_layers = passes_correct_targets(CHECKS, GOOD)


def test_checks_that_need_a_mask_say_so_without_one():
    spec = CheckSpec(L.Dense, [(3, 7)], {"units": 2})
    for check_id in CHECKS:
        result = run_check(check_id, spec)
        assert result.status == "skipped" and "mask" in result.message, (check_id, result.message)


@pytest.mark.parametrize("check_id", ["check_mask_propagation", "check_compute_mask_matches_functional"])
def test_a_mask_producer_is_checked_without_an_input_mask(check_id):
    spec = CheckSpec(L.Embedding, inputs=["3,6:int32@0..20"],
                     kwargs={"input_dim": 20, "output_dim": 4, "mask_zero": True})
    assert run_check(check_id, spec).status == "passed"


class TimeKeepingScale(keras.layers.Layer):
    """A plain layer that keeps the time axis and never declares mask support."""

    def call(self, inputs):
        return inputs * 2.0


def test_a_layer_without_mask_support_is_reported_by_keras_3_and_fails_on_keras_2():
    result = run_check("check_dropped_mask_reported", CheckSpec(TimeKeepingScale, inputs=["2,5,3"]))
    if compat.KERAS_REPORTS_DROPPED_MASKS:
        assert result.status == "passed", result.message
    else:
        assert result.status == "failed" and "without a word" in result.message
