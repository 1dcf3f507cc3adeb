"""Same command, same verdict, same numbers: every draw of weights and random ops in a
check follows a seed made from the target and the check."""

import json
import random
import subprocess
import sys

import numpy as np
import tensorflow as tf

import keras_compat as compat
from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec


class FrozenCallCountDense(keras.layers.Layer):
    """A randomly initialised kernel scaled by a Python call count (frozen when traced): its
    graph failure reports numbers that depend on the drawn kernel."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.calls = 0

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units))

    def call(self, inputs):
        self.calls += 1
        return tf.matmul(inputs, self.kernel) * float(self.calls)


class NoisyDense(keras.layers.Dense):
    """Dense plus unseeded Keras noise in every call: inference is random by design of this test."""

    def call(self, inputs):
        return super().call(inputs) + compat.random_normal(tf.shape(inputs)[:1])[:, None]


def test_the_same_check_twice_reports_the_same_numbers():
    for check_id, cls in (("check_graph_matches_eager", FrozenCallCountDense),
                          ("check_inference_deterministic", NoisyDense)):
        spec = CheckSpec(cls, [(3, 7)], {"units": 4})
        first, second = run_check(check_id, spec), run_check(check_id, spec)
        assert first.status == "failed" and "differing by up to" in first.message
        assert second.status == "failed" and "differing by up to" in second.message
        if cls is NoisyDense and not compat.UNSEEDED_NOISE_REPEATS_IN_PROCESS:
            continue  # Keras 2's noise continues TensorFlow's cached stream (see the flag)
        assert first.message == second.message


def test_seeded_draws_put_every_generator_back():
    random.seed(5)
    np.random.seed(5)
    expected = (random.random(), np.random.random())
    random.seed(5)
    np.random.seed(5)
    with compat.seeded_draws(123):
        inside = (random.random(), np.random.random(), keras.layers.Dense(2).kernel_initializer((2, 2)))
    assert (random.random(), np.random.random()) == expected
    with compat.seeded_draws(123):
        again = (random.random(), np.random.random(), keras.layers.Dense(2).kernel_initializer((2, 2)))
    assert inside[:2] == again[:2] and np.array_equal(np.array(inside[2]), np.array(again[2]))
    assert compat.tf_global_seed()[0] is None or compat.tf_global_seed()[0] != 123


def _report_without_timings(path):
    def strip(node):
        if isinstance(node, dict):
            return {key: strip(value) for key, value in node.items() if "second" not in key}
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node

    with open(path, encoding="utf-8") as handle:
        return strip(json.load(handle))


def test_the_cli_gives_the_same_json_twice(tmp_path):
    reports = []
    for run in range(2):
        output = tmp_path / f"report{run}.json"
        completed = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "check", f"{__file__}:FrozenCallCountDense",
             "--kwargs", '{"units": 4}', "--input", "3,7", "--format", "json", "--output", str(output)],
            capture_output=True, text=True, timeout=300,
        )
        assert completed.returncode == 1, completed.stderr
        reports.append(_report_without_timings(output))
    messages = [r["message"] for r in reports[0]["targets"][0]["results"] if r["status"] == "failed"]
    assert any("differing by up to" in message for message in messages)
    first, second = (report["targets"][0]["results"] for report in reports)
    assert [r for r in first if r not in second] == [], [r for r in second if r not in first]
    assert reports[0] == reports[1]
