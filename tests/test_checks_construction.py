"""The construction checks catch their broken layers and pass correct ones."""

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
