"""The construction checks catch their broken layers and pass correct ones."""

import numpy as np
import pytest

from keras_compat import KERAS_3, keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import construction as broken
from tests.family_contract import family_tests, passes_correct_targets
from examples.notes_verbatim.simple_dense import SimpleDense as NotesSimpleDense

GOOD = [
    pytest.param(CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4}), id="Dense"),
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(CheckSpec(keras.layers.Add, [(3, 4), (3, 4)]), id="Add"),
    pytest.param(spec_for_reference("identity_block"), id="identity_block"),
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),
]

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "construction", broken
)
test_check_passes_correct_layers = passes_correct_targets(CHECKS, GOOD)


def test_notes_simple_dense_raw_variables_fail_tracking_on_keras_3_only():
    """The notes' verbatim SimpleDense: Keras 2 tracks tf.Variable attributes, Keras 3 does not."""
    result = run_check("check_variables_tracked", CheckSpec(NotesSimpleDense, [(3, 7)], {"units": 4}))
    if KERAS_3:
        assert result.status == "failed"
        assert "layer.w" in result.message
    else:
        assert result.status == "passed", result.message


class _CopiesItsArguments(keras.layers.Layer):
    """Correct: works on copies of a list, a dict and an array with a NaN in it."""

    def __init__(self, sizes=(2,), table=None, weights_=None, **kwargs):
        super().__init__(**kwargs)
        self.sizes = [0] + list(sizes)
        self.table = {**(table or {}), "extra": 1}
        self.weights_ = np.nan_to_num(weights_)

    def call(self, inputs):
        return inputs


class _ClearsItsTable(_CopiesItsArguments):
    """Broken: empties a dict nested inside a tuple argument."""

    def __init__(self, pairs=(), **kwargs):
        super().__init__(**kwargs)
        for _, table in pairs:
            table.clear()


_UNCHANGED = "check_constructor_leaves_arguments_unchanged"


def test_copied_arguments_are_left_unchanged_nan_included():
    spec = CheckSpec(_CopiesItsArguments, [(3, 7)],
                     {"sizes": [1, 2], "table": {"a": [1.5]}, "weights_": np.array([np.nan, 1.0])})
    result = run_check(_UNCHANGED, spec)
    assert result.status == "passed", result.message


def test_a_dict_emptied_inside_a_tuple_argument_is_reported():
    result = run_check(_UNCHANGED, CheckSpec(_ClearsItsTable, [(3, 7)], {"pairs": (("k", {"a": 1}),)}))
    assert result.status == "failed"
    assert "pairs=(('k', {'a': 1}),)" in result.expected
    assert "pairs=(('k', {}),)" in result.seen


def test_arguments_without_plain_data_to_modify_skip():
    result = run_check(_UNCHANGED, CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4}))
    assert result.status == "skipped"
    assert "no constructor argument is a list" in result.reason


def test_each_instance_gets_its_own_copy_of_the_kwargs():
    """A constructor that edits its list does not change the next instance's arguments."""
    from examples.broken_layers.construction import ExtendsItsThresholds

    spec = CheckSpec(ExtendsItsThresholds, [(3, 7)], {"thresholds": [0.5]})
    assert spec.new().thresholds == spec.new().thresholds == [float("-inf"), 0.5, float("inf")]
    assert spec.kwargs == {"thresholds": [0.5]}
