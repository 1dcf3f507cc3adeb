"""The shapes checks catch their broken layers and pass correct ones."""

import pytest
import tensorflow as tf

import keras_compat as compat
from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import shapes as broken
from examples.tricky_good import masking_shapes as tricky
from tests.family_contract import family_tests

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "shapes", broken
)

GOOD = [
    pytest.param(CheckSpec(keras.layers.Concatenate, [(3, 4), (3, 5)]), id="Concatenate"),
    pytest.param(CheckSpec(keras.layers.LSTM, [(2, 5, 3)], {"units": 4}), id="LSTM"),
    pytest.param(spec_for_reference("identity_block"), id="identity_block"),
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),
]


#: The checks of variable lengths skip a target with no sequence axis (tests/test_variable_length.py).
LENGTH_CHECKS = ("check_symbolic_unknown_length", "check_lengths_vary")


def _passes(check_id, spec):
    result = run_check(check_id, spec)
    if check_id in LENGTH_CHECKS and not spec.inputs.has_sequence_axes:
        assert result.status == "skipped" and "sequence" in result.message, result.message
    else:
        assert result.status == "passed", result.message


@pytest.mark.parametrize("spec", GOOD)
def test_checks_pass_correct_layers(spec):
    for check_id in CHECKS:
        _passes(check_id, spec)


def test_lying_compute_output_shape_is_named_on_both_versions():
    """Keras 3 takes symbolic shapes from compute_output_shape, Keras 2 from call(): the
    declared shape is compared first, so both versions report the same finding."""
    result = run_check("check_output_shapes_agree", CheckSpec(broken.ShapeLyingDense, [(4, 7)]))
    assert "compute_output_shape" in result.message and "declares (4, 7)" in result.message


def test_unknown_batch_hidden_by_compute_output_shape_is_caught():
    """A correct compute_output_shape spares Keras 3's symbolic call from running call();
    the None-batch trace still reaches the bad reshape."""
    spec = CheckSpec(broken.StaticBatchFlattenWithShape, [(4, 5, 3)])
    result = run_check("check_symbolic_unknown_batch", spec)
    assert result.status == "failed" and "None" in result.message
    # The same layer is otherwise consistent: its shapes agree at a known batch size.
    assert run_check("check_output_shapes_agree", spec).status == "passed"


def _agree(cls, inputs, call_kwargs=None):
    return run_check("check_output_shapes_agree", CheckSpec(cls, inputs=inputs, call_kwargs=call_kwargs))


def test_keyword_shapes_are_handed_as_keras_hands_them():
    result = _agree(broken.ValueShapedAttention, ["query=2,4,8", "value=2,6,8"])
    assert result.status == "failed" and "compute_output_shape" in result.message
    assert "declares (2, 6, 8)" in result.message, result.message


class LyingListConcat(tricky.PairConcat):
    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


def test_one_parameter_receives_the_list_of_shapes():
    assert _agree(tricky.PairConcat, ["3,4", "3,5"]).status == "passed"
    result = _agree(LyingListConcat, ["3,4", "3,5"])
    assert result.status == "failed" and "declares (3, 4)" in result.message, result.message


class LyingMeanAndLast(tricky.MeanAndLast):
    def compute_output_spec(self, inputs):
        return keras.KerasTensor(tuple(inputs.shape), dtype=self.compute_dtype)


@pytest.mark.skipif(not compat.KERAS_3, reason="compute_output_spec declares outputs on Keras 3 only")
def test_a_compute_output_spec_is_the_declaration_on_keras_3():
    result = _agree(LyingMeanAndLast, ["2,5,3"])
    assert result.status == "failed" and "compute_output_spec to give" in result.message, result.message


class ScoresDeclaredByShapeOnly(keras.layers.Layer):
    """Returns attention weights on request, but declares its output by
    ``compute_output_shape`` alone, which cannot see ``return_attention_scores``."""

    def call(self, query, value, return_attention_scores=False):
        scores = tf.nn.softmax(tf.matmul(query, value, transpose_b=True), axis=-1)
        output = tf.matmul(scores, value)
        return (output, scores) if return_attention_scores else output

    def compute_output_shape(self, query_shape, value_shape):
        return query_shape


def test_a_compute_output_shape_is_not_compared_with_call_keywords_it_cannot_see():
    inputs, keywords = ["query=2,4,8", "value=2,5,8"], {"return_attention_scores": True}
    assert _agree(ScoresDeclaredByShapeOnly, inputs).status == "passed"
    result = _agree(ScoresDeclaredByShapeOnly, inputs, keywords)
    if compat.KERAS_3:
        # Keras 3 takes the symbolic call's outputs from compute_output_shape: a Functional
        # model built with the keyword gets one output instead of two.
        assert result.status == "failed" and "override compute_output_spec" in result.message
    else:
        assert result.status == "skipped" and "return_attention_scores" in result.message
    declared_by_spec = _agree(tricky.ScoresOnRequest, inputs, keywords)
    assert declared_by_spec.status == ("passed" if compat.KERAS_3 else "skipped"), declared_by_spec.message


class MisnamedShapes(keras.layers.Layer):
    def call(self, query, value):
        return query + tf.reduce_mean(value, axis=1, keepdims=True)

    def compute_output_shape(self, q, v):
        return q


@pytest.mark.skipif(not compat.KERAS_3, reason="only Keras 3 asks compute_output_shape by parameter names")
def test_parameter_names_keras_cannot_map_are_reported_with_keras_words():
    result = _agree(MisnamedShapes, ["query=2,4,8", "value=2,5,8"])
    assert result.status == "failed" and "_shape" in result.message, result.message


class ScaledShapeLyingDense(broken.ShapeLyingDense):
    def call(self, inputs, scale=1.0):
        return super().call(inputs) * scale


def test_call_keywords_that_change_no_shape_leave_the_declaration_compared():
    result = _agree(ScaledShapeLyingDense, ["4,7"], {"scale": 2.0})
    assert result.status == "failed" and "declares (4, 7)" in result.message, result.message
    causal = run_check("check_output_shapes_agree", CheckSpec(
        keras.layers.MultiHeadAttention, kwargs={"num_heads": 2, "key_dim": 4},
        inputs=["query=2,5,8", "value=2,5,8"], call_kwargs={"use_causal_mask": True}))
    assert causal.status == "passed", causal.message


class WithoutCache(keras.layers.Layer):
    """Returns ``(outputs, cache)``, the cache None when none is given (as documented)."""

    def call(self, inputs, cache=None):
        return inputs * 2.0, cache


@pytest.mark.parametrize("check_id", CHECKS)
def test_a_none_output_is_left_out(check_id):
    _passes(check_id, CheckSpec(WithoutCache, inputs=["3,4"]))
    _passes(check_id, CheckSpec(WithoutCache, inputs=["3,5,4"]))


class DictWeightedSum(keras.layers.Layer):
    """Takes a dict argument; ``compute_output_shape(self, input_shapes)`` gets a dict of shapes."""

    def call(self, inputs):
        return tf.concat([inputs["tokens"], inputs["extra"][:, :1] * 0.0 + inputs["tokens"][:, :1]], axis=-1)

    def compute_output_shape(self, input_shapes):
        tokens = tuple(input_shapes["tokens"])
        return tokens[:-1] + (tokens[-1] + 1,)


class DictShapeLying(DictWeightedSum):
    def compute_output_shape(self, input_shapes):
        return tuple(input_shapes["tokens"])


def test_a_dict_argument_gives_a_dict_of_shapes():
    inputs = ["inputs.tokens=3,4", "inputs.extra=3,2"]
    result = _agree(DictWeightedSum, inputs)
    assert result.status == "passed", result.message
    lying = _agree(DictShapeLying, inputs)
    assert lying.status == "failed" and "declares (3, 4)" in lying.message, lying.message
