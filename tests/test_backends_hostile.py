"""A target hostile on the other backends (exits, hangs, prints, writes to the process's
stdout) fails the backends checks naming the backend, and leaves no process behind; the
backends' check hosts go on serving the next target."""

import os
import time

import pytest

import keras_compat as compat
from conformance import backends
from conformance.checks import backends as backend_checks
from conformance.runner import run_check
from conformance.spec import CheckSpec
from keras_compat import keras

pytestmark = pytest.mark.skipif(
    compat.other_backends_unavailable() is not None or not backends.available(),
    reason="needs Keras 3 and the JAX or PyTorch backend installed")

class _OffTensorFlow(keras.layers.Layer):
    """Correct on TensorFlow; :meth:`hostile` runs on any other backend."""

    def call(self, inputs):
        if keras.backend.backend() != "tensorflow":
            self.hostile()
        return inputs * 2.0

    def hostile(self):
        raise NotImplementedError


class ExitsOffTensorFlow(_OffTensorFlow):
    def hostile(self):
        os._exit(7)


class HangsOffTensorFlow(_OffTensorFlow):
    """Writes its process id to ``pid_file``, then sleeps."""

    def __init__(self, pid_file, **kwargs):
        super().__init__(**kwargs)
        self.pid_file = pid_file

    def hostile(self):
        with open(self.pid_file, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")
        time.sleep(600)


class PrintsOffTensorFlow(_OffTensorFlow):
    def hostile(self):
        print("hello from the layer " * 100)
        os.write(1, b"raw bytes on the process's stdout\n" * 100)


def _spec(cls, **kwargs):
    return CheckSpec(cls, inputs=["3,4"], kwargs=kwargs, tier="full",
                     import_path=f"tests/test_backends_hostile.py:{cls.__name__}")


def _dense_passes():
    dense = CheckSpec(keras.layers.Dense, inputs=["3,7"], kwargs={"units": 4}, tier="full",
                      import_path="keras.layers:Dense")
    result = run_check("check_backend_outputs_match", dense)
    assert result.status == "passed", result.message


def test_a_layer_that_exits_on_the_backend_fails_naming_it_and_the_check_hosts_serve_on():
    result = run_check("check_backend_outputs_match", _spec(ExitsOffTensorFlow))
    assert result.status == "failed", result.message
    assert "exit status 7" in result.message
    assert "JAX backend" in result.message or "PyTorch backend" in result.message
    _dense_passes()


def test_a_layer_that_hangs_on_the_backend_is_stopped_at_the_timeout_and_killed(monkeypatch, tmp_path):
    pid_file = tmp_path / "pids"
    monkeypatch.setattr(backend_checks, "_timeout", lambda spec: 5.0)
    started = time.monotonic()
    result = run_check("check_backend_outputs_match", _spec(HangsOffTensorFlow, pid_file=str(pid_file)))
    assert time.monotonic() - started < 60
    assert result.status == "failed" and "no result within" in result.message, result.message
    pids = [int(line) for line in pid_file.read_text().split()]
    assert pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    _dense_passes()


def test_a_layer_that_prints_on_the_backend_does_not_disturb_the_check():
    result = run_check("check_backend_outputs_match", _spec(PrintsOffTensorFlow))
    assert result.status == "passed", result.message
    _dense_passes()
