"""The backends checks catch their broken layers, pass correct ones on JAX and PyTorch, and
skip with the reason where a backend (or Keras 3) is missing."""

import dataclasses

import numpy as np
import pytest

import keras_compat as compat
from conformance import backends
from conformance.backends.tracebacks import calls_tensorflow, where_it_failed
from conformance.catalogue import all_checks
from conformance.known_good import all_specs
from conformance.runner import run_check
from conformance.spec import CheckSpec
from examples.broken_layers import backends as broken
from keras_compat import keras

CHECKS = [c.id for c in all_checks(family="backends")]
RUNNABLE = compat.other_backends_unavailable() is None and bool(backends.available())
needs_a_backend = pytest.mark.skipif(not RUNNABLE, reason="needs Keras 3 and the JAX or PyTorch backend installed")


def _broken_spec(cls, kwargs, inputs):
    return CheckSpec(cls, inputs=inputs, kwargs=kwargs, **broken.SPEC_OPTIONS.get(cls, {}))


def test_every_check_has_a_broken_layer_and_runs_in_the_full_tier():
    assert set(CHECKS) == set(broken.BROKEN)
    assert {c.tier for c in all_checks(family="backends")} == {"full"}


@needs_a_backend
@pytest.mark.parametrize("check_id, cls, kwargs, inputs", [
    pytest.param(check_id, cls, kwargs, inputs, id=f"{check_id}-{cls.__name__}")
    for check_id, cases in broken.BROKEN.items() for cls, kwargs, inputs in cases])
def test_check_fails_its_broken_layer_naming_the_backend_and_the_tensorflow_op(check_id, cls, kwargs, inputs):
    result = run_check(check_id, _broken_spec(cls, kwargs, inputs))
    assert result.status == "failed", result.message
    assert check_id in result.message and "Expected" in result.message and "saw" in result.message
    assert "backends.py, line" in result.message and "tf." in result.message  # the failing line
    assert "keras.ops" in result.message  # the hint: a TensorFlow call is the cause
    if cls is not broken.TensorFlowOpInComputeMask:  # that one fails on TensorFlow's symbolic call too
        assert "JAX backend" in result.message or "PyTorch backend" in result.message


def _dense():
    return CheckSpec(keras.layers.Dense, inputs=["3,7"], kwargs={"units": 4}, tier="full",
                     import_path="keras.layers:Dense")


@needs_a_backend
def test_dense_passes_every_backends_check():
    for check_id in CHECKS:
        result = run_check(check_id, _dense())
        assert result.status == "passed", result.message


DEFAULT_SAMPLE = {"keras.layers:MultiHeadAttention[attention_mask]", "keras.layers:Embedding"}


@needs_a_backend
@pytest.mark.parametrize("spec", [
    pytest.param(spec, id=spec.label, marks=() if spec.label in DEFAULT_SAMPLE else pytest.mark.slow)
    for spec in all_specs()])
def test_known_good_targets_pass_or_skip_with_a_reason(spec):
    for check_id in CHECKS:
        result = run_check(check_id, dataclasses.replace(spec, tier="full"))
        assert result.status in ("passed", "skipped"), f"{check_id}: {result.message}"
        if result.status == "skipped":
            assert result.message.strip(), check_id


def test_a_backend_not_installed_is_skipped_with_how_to_install_it(monkeypatch):
    monkeypatch.setattr(backends, "BACKENDS", {"jax": "no_such_package_for_jax", "torch": "no_such_torch"})
    assert backends.unavailable("jax") == "backend jax is not installed (pip install 'keras-conformance[jax]')"
    assert backends.available() == []
    result = run_check("check_backend_outputs_match", _dense())
    assert result.status == "skipped"
    if compat.RUNS_ON_OTHER_BACKENDS:
        assert "backend jax is not installed (pip install 'keras-conformance[jax]')" in result.message
        assert "keras-conformance[torch]" in result.message


def test_a_target_without_an_import_path_is_skipped_with_the_reason():
    result = run_check("check_backend_outputs_match", dataclasses.replace(_dense(), import_path=None))
    assert result.status == "skipped"
    assert ("import_path" in result.message) if compat.RUNS_ON_OTHER_BACKENDS else ("Keras 3" in result.message)


@pytest.mark.skipif(compat.RUNS_ON_OTHER_BACKENDS, reason="Keras 2 only")
def test_every_check_skips_on_keras_2_saying_why():
    for check_id in CHECKS:
        result = run_check(check_id, _dense())
        assert result.status == "skipped" and "need Keras 3" in result.message, result.message


_TRACEBACK = '''Traceback (most recent call last):
  File "/site-packages/conformance/check_host.py", line 74, in _child
    value = _resolve(function_path)(*args)
  File "/site-packages/keras/src/layers/layer.py", line 900, in __call__
    outputs = super().__call__(*args, **kwargs)
  File "/home/me/project/layers.py", line 12, in call
    return tf.nn.relu(x)
  File "/site-packages/tensorflow/python/ops/nn_ops.py", line 20, in relu
    return gen_nn_ops.relu(features)
ValueError: something
'''


def test_the_failing_line_is_the_innermost_frame_of_the_users_code():
    assert where_it_failed(_TRACEBACK) == "in call (layers.py, line 12: return tf.nn.relu(x))"
    assert calls_tensorflow(_TRACEBACK)
    portable = _TRACEBACK.replace("tf.nn.relu(x)", "keras.ops.relu(x)").replace("/tensorflow/", "/keras/")
    assert not calls_tensorflow(portable)
    assert where_it_failed("ValueError: no frames") == ""


def test_a_layer_declared_tensorflow_only_skips_every_check_saying_so():
    declared = dataclasses.replace(_broken_spec(broken.TensorFlowOpInCall, {"units": 4}, [(4, 7)]),
                                   traits=frozenset({"tensorflow_only"}))
    for check_id in CHECKS:
        result = run_check(check_id, declared)
        assert result.status == "skipped", result.message
        assert "declared tensorflow_only" in result.message


def test_outputs_reordered_along_the_last_axis_do_not_differ_and_the_note_says_so():
    from conformance.checks import backends as family

    values = np.array([[0.5, 0.9, 0.1], [0.3, 0.2, 0.8]], np.float32)
    labels = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
    order = np.array([[2, 0, 1], [1, 2, 0]])
    moved = [np.take_along_axis(a, order, axis=-1) for a in (values, labels)]
    notes = []
    assert family._differences([values, labels], {"jax": moved}, 1e-4, notes=notes) == {}
    assert notes and "order along the last axis" in notes[0]
    broken = [moved[0], labels]  # the pairs no longer match
    assert "jax" in family._differences([values, labels], {"jax": broken}, 1e-4, notes=[])
