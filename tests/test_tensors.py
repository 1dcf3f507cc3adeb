"""Comparing outputs: NaN equals nothing, not even NaN; infinities equal only themselves."""

import numpy as np
import pytest

from conformance.tensors import as_arrays, mismatch, non_finite, undefined_outputs

NAN, INF = float("nan"), float("inf")


def test_nan_never_compares_equal_to_nan():
    a = np.array([1.0, NAN])
    assert mismatch([a], [a.copy()], tolerance=1.0) is not None
    assert "non-finite" in mismatch([a], [a.copy()], tolerance=1.0)


def test_the_same_infinity_in_the_same_place_agrees():
    a = np.array([1.0, INF, -INF])
    assert mismatch([a], [a.copy()], tolerance=1e-6) is None
    assert mismatch([a], [np.array([1.0, -INF, -INF])], tolerance=1e-6) is not None
    assert mismatch([a], [np.array([1.0, 5.0, -INF])], tolerance=1e-6) is not None


def test_differences_are_relative_to_the_expected_magnitude():
    assert mismatch([np.array([100.0])], [np.array([100.001])], tolerance=1e-4) is None
    assert "differing by up to" in mismatch([np.array([1.0])], [np.array([1.01])], tolerance=1e-4)


def test_structure_problems_are_named():
    assert "2 outputs instead of 1" in mismatch([np.zeros(2)], [np.zeros(2), np.zeros(2)], 1e-6)
    assert "shapes" in mismatch([np.zeros(2)], [np.zeros(3)], 1e-6)


def test_structured_outputs_flatten_in_key_order():
    arrays = as_arrays({"b": np.ones(1), "a": (np.zeros(1), np.full(1, 2.0))})
    assert [float(x[0]) for x in arrays] == [0.0, 2.0, 1.0]


def test_undefined_outputs_are_named():
    assert undefined_outputs(None) == "None"
    assert "not a tensor" in undefined_outputs([np.zeros(1), 3.0])
    assert undefined_outputs({"y": np.zeros(1)}) is None


def test_non_finite_values_are_counted_and_ids_ignored():
    assert non_finite([np.array([1.0, NAN, INF])]) == "1 NaN and 1 infinite of 3 values in the output"
    assert non_finite([np.array([1, 2], dtype=np.int64), np.array([True])]) is None


def test_none_leaves_are_left_out_and_a_structure_needs_a_tensor():
    from conformance.tensors import flatten

    assert len(flatten((np.zeros(1), None))) == 1
    assert len(flatten((np.zeros(1), None), keep_none=True)) == 2
    assert undefined_outputs((np.zeros(1), None)) is None
    assert undefined_outputs((None, {"cache": None})) == "a structure holding only None, no tensor"
    assert undefined_outputs([]) == "an empty structure with no tensor in it"


def test_outputs_are_named_by_their_place_in_the_structure():
    from conformance.tensors import output_names, select_outputs

    outputs = (np.zeros(1), None, {"logits": np.zeros(1), "scores": np.zeros(1)})
    assert output_names(outputs) == ["0", "2.logits", "2.scores"]
    assert select_outputs(outputs, ["2"]) == [1, 2]
    assert select_outputs(outputs, ["2.scores", "0"]) == [0, 2]
    assert select_outputs(np.zeros(1), ["0"]) == [0]
    with pytest.raises(ValueError, match="the outputs are 0, 2.logits, 2.scores"):
        select_outputs(outputs, ["cache"])


def test_batch_axes_tell_batched_unbatched_broadcast_and_in_batch_outputs():
    from conformance.tensors import batch_axes

    shapes = {3: [(3, 5), (6, 4), (1, 5, 5), (3, 3)], 6: [(6, 5), (6, 4), (1, 5, 5), (6, 6)]}
    assert batch_axes(shapes, build_size=3) == [(0,), (), (), (0, 1)]
    # a leading size equal to the batch the layer was built with may be a frozen batch
    assert batch_axes({3: [(3, 4)], 6: [(3, 4)]}, build_size=3) == [(0,)]
    assert batch_axes({3: [(3, 4)], 6: [(6, 4)]}, build_size=3, unbatched=[0]) == [()]


def test_take_batch_slices_only_batch_axes():
    from conformance.tensors import take_batch

    logits, table = np.arange(9).reshape(3, 3), np.arange(4)
    taken = take_batch([logits, table], [(0, 1), ()], [2, 0])
    assert np.array_equal(taken[0], logits[[2, 0]][:, [2, 0]]) and np.array_equal(taken[1], table)


@pytest.mark.parametrize("message, line", [
    ("Exception encountered when calling L.call().\n\n```\nCould not infer the shape\n```\n\n"
     "Arguments received by L.call():\n  • x=1", "ValueError: Could not infer the shape"),
    ("```\nValueError: the inner error\n```", "ValueError: the inner error"),
    ("in user code:\n\n    File \"a.py\", line 3, in call  *\n        x = f(y)\n\n"
     "    ValueError: Exception encountered when calling layer 'l' (type L).\n\n    bad shapes (2, 3)\n",
     "ValueError: bad shapes (2, 3)"),
    ("first part\nsecond part", "ValueError: first part second part"),
])
def test_errors_are_quoted_by_their_informative_line(message, line):
    from conformance.errors import informative_line

    assert informative_line(message, "ValueError") == line
