"""The masking checks catch their broken layers, pass the built-in layers that use masks,
and follow what each Keras does with a mask a layer cannot use."""

import pytest
import tensorflow as tf

import keras_compat as compat
from conformance.runner import run_check
from conformance.spec import CheckSpec
from examples.broken_layers import masking as broken
from examples.tricky_good import masking_shapes as tricky
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


class ReverseCumulativeSum(keras.layers.Layer):
    """Keeps the time axis; each step sums the steps after it (mixing seen only by moving a
    late step)."""

    def call(self, inputs):
        return tf.cumsum(inputs, axis=1, reverse=True)


class NeighbourMean(keras.layers.Layer):
    """Keeps the time axis; each step averages itself with its neighbours."""

    def call(self, inputs):
        padded = tf.pad(inputs, [[0, 0], [1, 1], [0, 0]])
        return (padded[:, :-2] + padded[:, 1:-1] + padded[:, 2:]) / 3.0


class MaskAndData(keras.layers.Layer):
    """Returns its input scaled and the steps that hold data: the bool output is a mask, the
    float one is time-local data that must carry the input's mask."""

    def call(self, inputs):
        return inputs * 2.0, tf.reduce_any(tf.not_equal(inputs, 0.0), axis=-1)


class PositionTable(keras.layers.Layer):
    """Returns a fixed encoding of each position, whatever the input values."""

    def call(self, inputs):
        positions = tf.cast(tf.range(tf.shape(inputs)[1]), inputs.dtype)[None, :, None]
        return tf.sin(positions + tf.zeros_like(inputs))


class AlwaysNoisy(keras.layers.Layer):
    """Adds fresh noise to every call, inference included."""

    def call(self, inputs):
        return inputs + tf.random.normal(tf.shape(inputs))


def _dropped(cls, inputs=("2,5,3",)):
    return run_check("check_dropped_mask_reported", CheckSpec(cls, inputs=list(inputs)))


def test_a_time_local_layer_that_drops_the_mask_fails_on_every_keras():
    result = _dropped(broken.UnmaskedScale)
    assert result.status == "failed", result.message
    assert "no mask on any output" in result.message and "supports_masking = True" in result.message
    # Keras 3 says it drops the mask; that does not make the drop right.
    assert ("Keras warned" in result.message) == compat.KERAS_REPORTS_DROPPED_MASKS


@pytest.mark.parametrize("cls", [tricky.CumulativeSum, ReverseCumulativeSum, NeighbourMean])
def test_a_layer_that_mixes_time_steps_may_drop_the_mask(cls):
    assert _dropped(cls).status == "passed"


def test_a_layer_that_takes_its_mask_is_judged_by_what_it_does_with_it():
    spec = CheckSpec(broken.MaskIgnoringAttention,
                     inputs=["query=2,4,8", "value=2,5,8", "attention_mask=2,4,5:bool"])
    dropped = run_check("check_dropped_mask_reported", spec)
    assert dropped.status == "skipped" and "attention_mask" in dropped.message
    assert run_check("check_masked_values_ignored", spec).status == "failed"


def test_a_mask_given_in_the_input_list_is_taken_explicitly():
    result = run_check("check_dropped_mask_reported",
                       CheckSpec(tricky.ExplicitMaskBlock, inputs=["2,5,8", "2,5,5:bool"]))
    assert result.status == "skipped" and "explicitly" in result.message


class StepArgmax(keras.layers.Layer):
    """The index of the largest feature at each step (per-step ids, as a box matcher's)."""

    def call(self, inputs):
        return tf.argmax(inputs, axis=-1, output_type=tf.int32)


def test_an_output_that_is_a_mask_is_exempt_but_the_data_beside_it_is_not():
    assert _dropped(tricky.NonZeroStepMask).status == "passed"
    assert _dropped(StepArgmax).status == "passed"
    result = _dropped(MaskAndData)
    assert result.status == "failed" and "output 0," in result.message, result.message


def test_outputs_that_ignore_the_input_values_are_not_judged():
    result = _dropped(PositionTable)
    assert result.status == "skipped" and "do not depend" in result.message


def test_a_random_output_is_not_taken_for_mixing_time_steps():
    result = _dropped(AlwaysNoisy)
    assert result.status == "skipped" and "changes from one call to the next" in result.message


def test_a_flag_named_like_a_mask_is_not_a_mask_argument():
    spec = CheckSpec(L.MultiHeadAttention, kwargs={"num_heads": 2, "key_dim": 4},
                     inputs=["query=2,5,8", "value=2,5,8"], call_kwargs={"use_causal_mask": True})
    result = run_check("check_dropped_mask_reported", spec)
    if "query_mask" in spec.call_parameters():  # Keras 3 takes the query's mask as query_mask
        assert result.status == "skipped" and "query_mask" in result.message
    else:  # Keras 2 hands the query's mask on (supports_masking)
        assert result.status == "passed", result.message
