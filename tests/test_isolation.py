"""The checker leaves no global state behind, even when user code changes it and raises."""

import glob
import os
import random
import tempfile
import time

import numpy as np
import pytest
import tensorflow as tf

import keras_compat as compat
from keras_compat import keras
import conformance.wrapping  # noqa: F401 - the checker's own registrations, made at its import
from conformance.isolation import scratch_dir, snapshot
from conformance.runner import check_layer, run_check
from conformance.spec import CheckSpec


class Vandal(keras.layers.Layer):
    """Changes every piece of global state it can reach, then raises."""

    def call(self, inputs):
        compat.set_global_policy("mixed_float16")
        keras.backend.set_floatx("float64")
        random.seed(99)
        np.random.seed(99)
        tf.random.set_seed(99)
        keras.saving.register_keras_serializable(package="vandal")(type("Intruder", (keras.layers.Layer,), {}))
        os.chdir(scratch_dir())
        with open("litter.txt", "w") as handle:
            handle.write("left behind")
        raise RuntimeError("user code failed")


class Sleeper(keras.layers.Layer):
    def call(self, inputs):
        if not tf.executing_eagerly():
            return inputs
        time.sleep(30)
        return inputs


def _scratch_dirs():
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "keras-conformance-*")))


def _state():
    state = snapshot()
    state["registry"] = {k: sorted(v) for k, v in state["registry"].items() if "OBJECTS" in k}
    state["numpy_random"] = state["numpy_random"][1].tobytes()
    return state


def test_global_state_is_restored_after_user_code_changes_it_and_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # /tmp is shared with other processes
    before, dirs_before = _state(), _scratch_dirs()
    report = check_layer(Vandal, [(3, 4)])
    statuses = {r.status for r in report.results()}
    assert statuses <= {"error", "skipped"}, statuses  # Vandal cannot even be called
    assert "user code failed" in report.results()[0].message
    assert _state() == before
    assert _scratch_dirs() == dirs_before


def test_state_is_restored_after_every_check_of_a_working_layer():
    before = _state()
    check_layer(keras.layers.BatchNormalization, [(3, 4)], tier="fast")
    assert _state() == before


def test_a_hanging_check_fails_with_the_time_limit_and_the_run_goes_on():
    spec = CheckSpec(Sleeper, [(2, 3)], timeout=1.0)
    started = time.perf_counter()
    result = run_check("check_build_runs_once", spec)
    assert time.perf_counter() - started < 10
    assert result.status == "failed"
    assert "within 1 s" in result.message
    following = run_check("check_no_weights_after_init", spec)
    assert following.status == "passed"


@pytest.mark.parametrize("bad", [{"input_shapes": []}, {"input_shapes": [(3, 0)]}, {"traits": {"nope"}}])
def test_bad_specs_are_refused_with_a_clear_message(bad):
    arguments = {"cls": keras.layers.Dense, "input_shapes": [(3, 4)], "kwargs": {"units": 2}}
    arguments.update(bad)
    with pytest.raises(ValueError):
        CheckSpec(**arguments)


def test_the_random_sequence_of_a_seeded_session_goes_on_as_if_no_check_had_run():
    from conformance.isolation import isolated

    tf.random.set_seed(5)
    try:
        saved = compat.tf_global_seed()
        expected = tf.random.uniform([3]).numpy()
        compat.restore_tf_global_seed(saved)
        with isolated():
            tf.random.set_seed(7)
            tf.random.uniform([3])
        assert np.array_equal(tf.random.uniform([3]).numpy(), expected)
    finally:
        compat.restore_tf_global_seed((None, None))


def test_a_check_that_leaves_the_seed_alone_does_not_reset_it(monkeypatch):
    """Setting TensorFlow's seed clears its kernel cache, which doubles the cost of every
    op after it: the checker sets it again only when a check changed it."""
    from tensorflow.python.eager import context

    calls = []
    original = context.Context._set_global_seed
    monkeypatch.setattr(context.Context, "_set_global_seed",
                        lambda self, seed: calls.append(seed) or original(self, seed))
    spec = CheckSpec(keras.layers.Dense, [(3, 4)], {"units": 2})
    assert run_check("check_get_config_json", spec).status == "passed"
    assert calls == []
    seed = compat.tf_global_seed()[0]
    assert run_check("check_build_runs_once", CheckSpec(Vandal, [(3, 4)])).status == "failed"
    assert compat.tf_global_seed()[0] == seed != 99  # Vandal set 99: the checker put the test's back


def test_a_check_thread_given_up_on_does_not_put_back_its_stale_snapshot():
    """A check thread abandoned at its timeout that returns later (after its run put the temp
    folder setting back and removed its folder) must not restore the settings it saw when it
    began: the next run would then make its temp folder inside a folder that is gone."""
    import threading

    from conformance import isolation

    release = threading.Event()
    original = tempfile.tempdir
    run_folder = tempfile.mkdtemp(prefix="keras-conformance-test-")
    tempfile.tempdir = run_folder  # the setting while the check runs (a run's folder)
    try:
        with pytest.raises(isolation.TimedOut):
            isolation.run_with_timeout(lambda: release.wait(30), 0.2)
        thread = isolation._abandoned[-1][0]
    finally:
        tempfile.tempdir = original  # the run ended and put its setting back
        os.rmdir(run_folder)
    release.set()
    thread.join(10)
    assert not thread.is_alive()
    assert tempfile.tempdir == original
