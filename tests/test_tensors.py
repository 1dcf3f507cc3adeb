"""Comparing outputs: NaN equals nothing, not even NaN; infinities equal only themselves."""

import numpy as np

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
