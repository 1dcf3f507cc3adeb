"""Variable-length axes: which axes are sequence axes, drawing and symbolising the inputs at
other lengths, and the checks that a target takes any length."""

import numpy as np
import pytest

from conformance.inputs import CallInputs, InputError, TensorInput, parse_input
from conformance.runner import run_check
from conformance.spec import CheckSpec
from examples.broken_layers import shapes as broken
from keras_compat import keras

LENGTH_CHECKS = ("check_symbolic_unknown_length", "check_lengths_vary")


# -- which axes are sequence axes -----------------------------------------------------------

@pytest.mark.parametrize("inputs, expected", [
    (["2,5:int32@0..20"], {"input_0": (1,)}),  # ids: [batch, time]
    (["2,5,3"], {"input_0": (1,)}),  # [batch, time, features]
    (["2,7"], {"input_0": ()}),  # a vector
    (["2,8,8,3"], {"input_0": ()}),  # an image
    (["2,5,10!onehot"], {"input_0": (1,)}),
    (["2,5,3", "mask=2,5:bool"], {"input_0": (1,), "mask": (1,)}),  # a mask follows its input
    (["2,7", "mask=2,7:bool"], {"input_0": (), "mask": ()}),  # ... and has none when it has none
    (["x=2,5,3", "table=4,2!unbatched"], {"x": (1,), "table": ()}),
    (["2,6,6,3!seq=1,2"], {"input_0": (1, 2)}),
    (["2,5,3!seq=none", "mask=2,5:bool"], {"input_0": (), "mask": ()}),
])
def test_the_rule_says_which_axes_are_sequence_axes(inputs, expected):
    assert CallInputs(inputs).sequence_axes() == expected


def test_an_attention_mask_has_the_query_and_the_key_length():
    inputs = CallInputs(["query=2,4,8", "value=2,6,8", "attention_mask=2,4,6:bool"])
    assert inputs.sequence_axes()["attention_mask"] == (1, 2)
    assert inputs.lengths() == [4, 6]


def test_a_declared_mask_follows_the_input_it_masks_only():
    inputs = CallInputs(["decoder=2,5,4", "encoder=2,6,4", "m=2,5:bool!mask_of=encoder"])
    assert inputs.sequence_axes()["m"] == ()  # 5 is the decoder's length, not the encoder's


def test_equal_lengths_vary_together_and_different_ones_apart():
    inputs = CallInputs(["query=2,4,8", "value=2,6,8", "key=2,6,8", "attention_mask=2,4,6:bool"])
    values = inputs.draw_at({4: 3, 6: 8}, seed=1)
    assert {key: array.shape for key, array in values.items()} == {
        "query": (2, 3, 8), "value": (2, 8, 8), "key": (2, 8, 8), "attention_mask": (2, 3, 8)}
    assert values["attention_mask"][:, :, 0].all()  # still a padding mask: each row keeps a key
    again = inputs.draw_at({4: 3, 6: 8}, seed=1)
    assert all(np.array_equal(values[key], again[key]) for key in values)  # seeded


def test_resized_inputs_keep_their_sequence_axes():
    resized = CallInputs(["2,5,5", "mask=2,5:bool"]).with_lengths({5: 4})
    assert [spec.shape for spec in resized.inputs] == [(2, 4, 5), (2, 4)]  # features stay 5
    assert resized.sequence_axes() == {"input_0": (1,), "mask": (1,)}


def test_symbolic_inputs_leave_the_length_unknown():
    from keras_compat import keras  # noqa: F811

    inputs = CallInputs(["query=2,4,8", "attention_mask=2,4,4:bool"])
    symbols = inputs.symbolic(unknown_length=True)
    assert tuple(symbols["query"].shape) == (None, None, 8)
    assert tuple(symbols["attention_mask"].shape) == (None, None, None)
    assert tuple(inputs.symbolic(batch_size=2)["query"].shape) == (2, 4, 8)
    specs = inputs.tensor_specs(batch_size=2, unknown_length=True)
    assert specs["query"].shape.as_list() == [2, None, 8]
    assert isinstance(symbols["query"], type(keras.Input((1,))))


# -- the !seq mark ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2,6,6,3!seq=1,2", TensorInput((2, 6, 6, 3), seq_axes=(1, 2))),
    ("x=2,5,3!seq=none", TensorInput((2, 5, 3), name="x", seq_axes=())),
    ("2,5,3:int32!seq=2", TensorInput((2, 5, 3), "int32", seq_axes=(2,))),
])
def test_seq_marks_parse_and_print_back(text, expected):
    parsed = parse_input(text)
    assert parsed == expected
    assert parse_input(parsed.text()) == parsed


@pytest.mark.parametrize("text, words", [
    ("2,5,3!seq", "takes the sequence axes"), ("2,5,3!seq=0", "0 is the batch"),
    ("2,5,3!seq=3", "axes 1..2"), ("2,5,3!seq=one", "axis numbers"),
    ("4,2!unbatched!seq=1", "no batch axis"),
])
def test_bad_seq_marks_are_one_line_errors(text, words):
    with pytest.raises(InputError, match=words) as caught:
        parse_input(text)
    assert "\n" not in str(caught.value)


# -- the checks -------------------------------------------------------------------------------

GOOD = [
    pytest.param(CheckSpec(keras.layers.MultiHeadAttention, inputs=["query=2,4,8", "value=2,6,8"],
                           kwargs={"num_heads": 2, "key_dim": 4}), id="MultiHeadAttention-cross"),
    pytest.param(CheckSpec(keras.layers.MultiHeadAttention,
                           inputs=["query=2,5,8", "value=2,5,8", "attention_mask=2,5,5:bool"],
                           kwargs={"num_heads": 2, "key_dim": 4}), id="MultiHeadAttention-masked"),
    pytest.param(CheckSpec(keras.layers.Embedding, inputs=["2,5:int32@0..10"],
                           kwargs={"input_dim": 10, "output_dim": 4, "mask_zero": True}), id="Embedding"),
    pytest.param(CheckSpec(keras.layers.LSTM, inputs=["2,5,3", "mask=2,5:bool"],
                           kwargs={"units": 4, "return_sequences": True}), id="LSTM-masked"),
    pytest.param(CheckSpec(keras.layers.Conv1D, [(2, 6, 3)], {"filters": 4, "kernel_size": 3, "strides": 2}),
                 id="Conv1D-strided"),  # the output length is not the input's
]


@pytest.mark.parametrize("spec", GOOD)
@pytest.mark.parametrize("check_id", LENGTH_CHECKS)
def test_variable_length_layers_pass(check_id, spec):
    result = run_check(check_id, spec)
    assert result.status == "passed", result.message


@pytest.mark.parametrize("check_id", LENGTH_CHECKS)
def test_no_sequence_axis_is_a_skip_that_says_how_to_mark_one(check_id):
    result = run_check(check_id, CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 2}))
    assert result.status == "skipped" and "!seq=" in result.message


@pytest.mark.parametrize("check_id", LENGTH_CHECKS)
def test_a_declared_fixed_length_skips(check_id):
    spec = CheckSpec(broken.LearnedPositionOffset, [(4, 5, 3)], traits={"fixed_length"})
    result = run_check(check_id, spec)
    assert result.status == "skipped" and "fixed_length" in result.message
    marked = run_check(check_id, CheckSpec(broken.LearnedPositionOffset, inputs=["4,5,3!seq=none"]))
    assert marked.status == "skipped"


def test_a_fixed_length_layer_is_told_how_to_declare_it():
    result = run_check("check_lengths_vary", CheckSpec(broken.LearnedPositionOffset, [(4, 5, 3)]))
    assert result.status == "failed" and "--trait fixed_length" in result.message
    assert "5 -> 4" in result.message, result.message


class KernelThree(keras.layers.Layer):
    """A correct layer that refuses lengths under 3 by its own account (a valid convolution)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv1D(2, 3)

    def call(self, inputs):
        return self.conv(inputs)


def test_lengths_a_new_instance_refuses_are_not_tried():
    # From length 4, lengths 3 and 2 are tried; 2 is refused on keras.Input, 3 is checked.
    for check_id in LENGTH_CHECKS:
        result = run_check(check_id, CheckSpec(KernelThree, [(2, 4, 4)]))
        assert result.status == "passed", result.message


def test_only_shorter_lengths_are_tried():
    from conformance.checks.shapes import _length_variants

    assert _length_variants([4, 6]) == [{4: 3, 6: 5}, {4: 2, 6: 3}]
    assert _length_variants([2]) == [{2: 1}]
    assert _length_variants([1]) == []
    result = run_check("check_lengths_vary", CheckSpec(keras.layers.LSTM, [(2, 1, 3)], {"units": 2}))
    assert result.status == "skipped" and "no shorter length" in result.message


def test_a_layer_that_refuses_every_other_length_is_skipped():
    spec = CheckSpec(keras.layers.Reshape, [(2, 5, 3)], {"target_shape": (15,)})
    result = run_check("check_lengths_vary", spec)
    assert result.status == "skipped" and "example length only" in result.message, result.message


def test_x_shape_1_as_a_python_int_is_named():
    result = run_check("check_symbolic_unknown_length", CheckSpec(broken.StaticLengthSplitHeads, [(4, 5, 6)]))
    assert result.status == "failed" and "x.shape[1]" in result.message
    # Its eager calls are fine at any length: only an unknown length shows the bug.
    assert run_check("check_lengths_vary", CheckSpec(broken.StaticLengthSplitHeads, [(4, 5, 6)])).status == "passed"


def test_a_shape_frozen_at_the_example_length_is_named():
    result = run_check("check_lengths_vary", CheckSpec(broken.FrozenLengthShape, [(4, 5, 3)]))
    assert result.status == "failed" and "(4, 4, 3)" in result.message and "gives (4, 5, 3)" in result.message


def test_positions_along_a_length_shrink_with_it():
    inputs = CallInputs(["inputs=2,6,8", "mask_positions=2,3:int32@0..6", "ids=2,6:int32@0..50"])
    resized = inputs.with_lengths({6: 3, 3: 2})
    assert resized.spec_of("mask_positions").shape == (2, 2) and resized.spec_of("mask_positions").high == 3
    assert resized.spec_of("ids").high == 50  # a vocabulary, not positions
    assert resized.draw(seed=0)["mask_positions"].max() < 3


def test_a_mask_frozen_at_the_example_length_is_named():
    result = run_check("check_lengths_vary", CheckSpec(broken.FrozenLengthMask, [(4, 5, 3)]))
    assert result.status == "failed" and "mask" in result.message, result.message
    assert "(4, 5)" in result.message, result.message


class SymbolicCallFails(keras.layers.Layer):
    def call(self, inputs):
        if isinstance(inputs, keras.KerasTensor if hasattr(keras, "KerasTensor") else ()):
            raise ValueError("no symbolic call")
        return inputs * 2.0

    def compute_mask(self, inputs, mask=None):
        import tensorflow as tf

        return tf.ones(tf.shape(inputs)[:2], dtype=tf.bool)  # a TensorFlow op on a KerasTensor


def test_a_layer_refused_at_the_example_length_too_is_left_to_the_other_checks():
    result = run_check("check_lengths_vary", CheckSpec(SymbolicCallFails, [(2, 5, 3)]))
    if result.status == "skipped":
        assert "even at the example length" in result.message, result.message
