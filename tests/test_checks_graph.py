"""The graph checks catch their broken layers and pass correct ones."""

import pytest
import tensorflow as tf

from conformance import compat
from conformance.catalogue import all_checks
from conformance.compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import graph as broken

CHECKS = [c.id for c in all_checks(family="graph")]
BROKEN_CASES = [
    pytest.param(check_id, cls, kwargs, shapes, id=f"{check_id}-{cls.__name__}")
    for check_id, cases in broken.BROKEN.items()
    for cls, kwargs, shapes in cases
]
GOOD = [
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(CheckSpec(keras.layers.Dropout, [(3, 7)], {"rate": 0.5}), id="Dropout"),
    pytest.param(CheckSpec(keras.layers.Concatenate, [(3, 4), (3, 5)]), id="Concatenate"),
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),
]


def test_every_graph_check_has_a_broken_layer():
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


def test_xla_failure_names_the_uncompilable_op():
    result = run_check("check_xla_matches_eager", CheckSpec(broken.NumpySoftsign, [(4, 6)]))
    assert "PyFunc" in result.message and "not_xla_compatible" in result.message


def test_declared_not_xla_compatible_is_skipped():
    spec = CheckSpec(broken.NumpySoftsign, [(4, 6)], traits={"not_xla_compatible"})
    result = run_check("check_xla_matches_eager", spec)
    assert result.status == "skipped" and "not_xla_compatible" in result.message
    assert run_check("check_graph_matches_eager", spec).status == "passed"


def test_count_traces_sees_each_new_trace_and_nothing_else():
    square = tf.function(lambda x: x * x)
    with compat.count_traces() as traces:
        square(tf.constant([1.0]))
        square(tf.constant([2.0]))  # same signature: no new trace
        square(tf.constant([[1.0]]))  # new shape: traced again
    assert len(traces) == 2
    with compat.count_traces() as traces:
        square(tf.constant([3.0]))
    assert traces == []
