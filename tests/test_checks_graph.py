"""The graph checks catch their broken layers and pass correct ones."""

import numpy as np
import pytest
import tensorflow as tf

import keras_compat as compat
from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import graph as broken
from tests.family_contract import family_tests, passes_correct_targets

GOOD = [
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(CheckSpec(keras.layers.Dropout, [(3, 7)], {"rate": 0.5}), id="Dropout"),
    pytest.param(CheckSpec(keras.layers.Concatenate, [(3, 4), (3, 5)]), id="Concatenate"),
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),
]

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "graph", broken
)
test_check_passes_correct_layers = passes_correct_targets(CHECKS, GOOD)


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


def test_outputs_in_another_order_agree_only_when_reordered_alike():
    from conformance.tensors import same_up_to_order as _same_up_to_order

    values = np.array([[0.5, 0.9, 0.1], [0.3, 0.2, 0.8]], np.float32)
    indices = np.array([[4, 1, 7], [0, 5, 2]], np.int32)
    order = np.array([[2, 0, 1], [1, 2, 0]])
    moved = [np.take_along_axis(a, order, axis=-1) for a in (values, indices)]
    assert _same_up_to_order([values, indices], moved, 1e-5)
    assert not _same_up_to_order([values, indices], [moved[0], indices], 1e-5)  # pairs broken
    assert not _same_up_to_order([values, indices], [moved[0] + 0.1, moved[1]], 1e-5)


def test_xla_top_k_unsorted_passes_and_element_order_is_not_required():
    from examples.tricky_good.construction_graph import UnsortedTopK

    result = run_check("check_xla_matches_eager", CheckSpec(UnsortedTopK, [(3, 10)], {"k": 4}))
    assert result.status == "passed", result.message


class SinOfProjection(keras.layers.Layer):
    """sin(sharpness * x @ kernel): traced, it rounds its inputs ``traced_nudge`` (relative)
    differently, as a fused kernel or another order of the sums does."""

    def __init__(self, sharpness=50.0, traced_nudge=0.0, **kwargs):
        super().__init__(**kwargs)
        self.sharpness, self.traced_nudge = sharpness, traced_nudge

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], 8), initializer="glorot_uniform")

    def call(self, inputs):
        if not tf.executing_eagerly():
            inputs = inputs * (1.0 + self.traced_nudge)
        return tf.sin(self.sharpness * tf.matmul(inputs, self.kernel))


def test_a_difference_within_the_rounding_noise_of_the_computation_passes_with_a_note():
    """16 ulps of the inputs moves a sharp function's outputs by more than 1e-5, and no more
    than its own rounding noise; the pass says so."""
    spec = CheckSpec(SinOfProjection, [(4, 16)], {"traced_nudge": 16 * 2.0 ** -23})
    result = run_check("check_graph_matches_eager", spec)
    assert result.status == "passed", result.message
    assert result.note.startswith("the inference outputs differed by up to ")
    assert "within the rounding noise of the computation" in result.note


def test_a_difference_beyond_the_rounding_noise_fails():
    spec = CheckSpec(SinOfProjection, [(4, 16)], {"traced_nudge": 1e-4})
    result = run_check("check_graph_matches_eager", spec)
    assert result.status == "failed"
    assert "rounding noise up to 0.001 x scale" in result.expected
    assert result.note is None


def test_outputs_in_another_order_pass_with_a_note_in_the_json_and_verbose_text():
    import json

    from conformance.formats import render
    from conformance.report import Report, TargetReport
    from examples.tricky_good.construction_graph import UnsortedTopK

    result = run_check("check_xla_matches_eager", CheckSpec(UnsortedTopK, [(3, 10)], {"k": 4}))
    assert result.status == "passed" and result.note, result.message
    report = Report(targets=[TargetReport("UnsortedTopK", [result])])
    saved = json.loads(render(report, "json"))["targets"][0]["results"][0]
    assert saved["note"] == result.note and saved["status"] == "passed"
    assert f"        note: {result.note}" in render(report, "text", verbosity=1).splitlines()
    assert "note:" not in render(report, "text")  # the summary lists only what needs a look
