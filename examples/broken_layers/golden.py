"""Broken layer for the golden-file check: one character of a layer's maths changed since its
golden file was recorded, a change no contract can see.

``GatedResidual`` is the layer as it was when ``examples/golden/`` recorded it;
``GatedResidualTypo`` is the same layer after a refactor that turned one ``+`` into ``-``.
Both are checked under the one label :data:`LABEL`, so they share the golden file. The
file is recorded from ``GatedResidual``: ``python -m examples.broken_layers.golden``
records it again (tests/test_golden.py checks that it is what the layer records now).
"""

import pathlib

import tensorflow as tf

from keras_compat import keras, register_serializable

#: The label both versions are checked under: the golden file's name comes from it.
LABEL = "examples.broken_layers.golden:GatedResidual"
#: The folder of the committed golden file.
GOLDEN_DIR = pathlib.Path(__file__).resolve().parents[1] / "golden"
INPUTS = ["3,6"]


@register_serializable(package="broken_layers")
class GatedResidual(keras.layers.Layer):
    """x + sigmoid(x G + b) * tanh(x W): a gated residual update, as recorded."""

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(dim, dim), initializer="glorot_uniform")
        self.gate_kernel = self.add_weight(name="gate_kernel", shape=(dim, dim),
                                           initializer="glorot_uniform")
        self.gate_bias = self.add_weight(name="gate_bias", shape=(dim,), initializer="zeros")
        super().build(input_shape)

    def _gate(self, inputs):
        return tf.sigmoid(tf.matmul(inputs, self.gate_kernel) + self.gate_bias)

    def call(self, inputs):
        return inputs + self._gate(inputs) * tf.tanh(tf.matmul(inputs, self.kernel))

    def compute_output_shape(self, input_shape):
        return input_shape


@register_serializable(package="broken_layers")
class GatedResidualTypo(GatedResidual):
    """Breaks check_matches_golden: the residual update is subtracted (``inputs - ...``), one
    character away from what was recorded; every contract still holds."""

    def call(self, inputs):
        return inputs - self._gate(inputs) * tf.tanh(tf.matmul(inputs, self.kernel))


BROKEN = {
    "check_matches_golden": [(GatedResidualTypo, {}, INPUTS)],
}

SPEC_OPTIONS = {GatedResidualTypo: {"label": LABEL, "golden": str(GOLDEN_DIR)}}


def recorded_spec(directory=GOLDEN_DIR, update=True):
    """The spec of the layer as recorded (``GatedResidual``), its golden folder ``directory``."""
    from conformance.spec import CheckSpec

    return CheckSpec(GatedResidual, inputs=INPUTS, label=LABEL, golden=str(directory), update_golden=update)


def record(directory=GOLDEN_DIR):
    """Record ``GatedResidual``'s golden file in ``directory``; the path written."""
    from conformance.checks.golden import golden_path
    from conformance.runner import run_check

    spec = recorded_spec(directory)
    result = run_check("check_matches_golden", spec)
    if result.status != "skipped" or not (result.reason or "").startswith("recorded "):
        raise RuntimeError(f"recording failed: {result.message}")
    return golden_path(spec)


if __name__ == "__main__":
    print(record())
