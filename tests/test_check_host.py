"""The check host: a forked child per request, errors and timeouts reported, the check
host reused."""

import os

import pytest

from conformance.check_host import CheckHostError, CheckHostTimeout, run_in_fresh_process

HERE = "tests.test_check_host"  # how the check host's children import this module


def child_pid():
    return os.getpid()


def child_raises():
    raise ValueError("the child's own error")


def child_sleeps(seconds):
    import time

    time.sleep(seconds)


def child_sees_no_tensorflow_runtime():
    """A child may still configure devices: TensorFlow's runtime is not initialised yet."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    return len(tf.config.list_logical_devices("CPU"))


def child_saves_keras_files_twice(folder):
    """Keras 2 keeps its switch to the .keras format per thread: a child that is not in the
    thread which imported Keras writes its second ".keras" file as HDF5."""
    import zipfile

    import keras_compat as compat

    model = compat.keras.Sequential([compat.keras.Input((3,)), compat.keras.layers.Dense(2)])
    paths = [os.path.join(folder, f"{name}.keras") for name in ("first", "second")]
    for path in paths:
        compat.save_model(model, path)
    return [zipfile.is_zipfile(path) for path in paths]


def test_each_request_runs_in_a_new_process():
    first = run_in_fresh_process(f"{HERE}:child_pid")
    second = run_in_fresh_process(f"{HERE}:child_pid")
    assert first != second != os.getpid()


def test_a_child_error_comes_back_with_its_message():
    with pytest.raises(CheckHostError, match="the child's own error") as caught:
        run_in_fresh_process(f"{HERE}:child_raises")
    assert "ValueError" in caught.value.details


def test_a_hanging_child_is_stopped_and_the_check_host_goes_on():
    with pytest.raises(CheckHostTimeout):
        run_in_fresh_process(f"{HERE}:child_sleeps", 30, timeout=1.0)
    assert run_in_fresh_process(f"{HERE}:child_pid") != os.getpid()


def test_children_can_configure_logical_devices():
    assert run_in_fresh_process(f"{HERE}:child_sees_no_tensorflow_runtime") == 2


def test_a_long_request_does_not_hold_up_a_short_one():
    import threading
    import time

    finished = {}

    def long_request():
        run_in_fresh_process(f"{HERE}:child_sleeps", 3)
        finished["long"] = time.monotonic()

    thread = threading.Thread(target=long_request)
    thread.start()
    time.sleep(0.2)  # the long request is sent first
    run_in_fresh_process(f"{HERE}:child_pid")
    finished["short"] = time.monotonic()
    thread.join()
    assert finished["short"] < finished["long"]


def test_a_child_saves_as_a_fresh_process_does(tmp_path):
    assert run_in_fresh_process(f"{HERE}:child_saves_keras_files_twice", str(tmp_path)) == [True, True]
