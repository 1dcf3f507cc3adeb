"""The construction checks catch their broken layers and pass correct ones."""

import pytest

from conformance.catalogue import all_checks
from conformance.compat import KERAS_3, keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import construction as broken
from examples.notes_verbatim.simple_dense import SimpleDense as NotesSimpleDense

CHECKS = [c.id for c in all_checks(family="construction")]
BROKEN_CASES = [
    pytest.param(check_id, cls, kwargs, shapes, id=f"{check_id}-{cls.__name__}")
    for check_id, cases in broken.BROKEN.items()
    for cls, kwargs, shapes in cases
]
GOOD = [
    pytest.param(CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 4}), id="Dense"),
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(CheckSpec(keras.layers.Add, [(3, 4), (3, 4)]), id="Add"),
    pytest.param(spec_for_reference("identity_block"), id="identity_block"),
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),
]


def test_every_construction_check_has_a_broken_layer():
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


def test_notes_simple_dense_raw_variables_fail_tracking_on_keras_3_only():
    """The notes' verbatim SimpleDense: Keras 2 tracks tf.Variable attributes, Keras 3 does not."""
    result = run_check("check_variables_tracked", CheckSpec(NotesSimpleDense, [(3, 7)], {"units": 4}))
    if KERAS_3:
        assert result.status == "failed"
        assert "layer.w" in result.message and "Keras 3" in result.message
    else:
        assert result.status == "passed", result.message
