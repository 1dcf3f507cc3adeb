"""WideAndDeepModel: a wide input concatenated with a deep path; main and auxiliary outputs."""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import FUNCTIONAL, SUBCLASSED, Reference, register


def _layers(units, activation):
    return (
        keras.layers.Dense(units, activation=activation),
        keras.layers.Dense(units, activation=activation),
        keras.layers.Dense(1),
        keras.layers.Dense(1),
    )


@register_serializable(package="reference_models")
class WideAndDeepModel(keras.Model):
    """Inputs (wide, deep); outputs (main, aux): main = Dense(1)([wide, deep2]), aux =
    Dense(1)(deep2), with deep2 = two Dense(units, activation) layers applied to deep."""

    def __init__(self, units=30, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.hidden1, self.hidden2, self.main_output, self.aux_output = _layers(units, activation)
        self.concat = keras.layers.Concatenate()

    def call(self, inputs):
        input_a, input_b = inputs
        hidden1 = self.hidden1(input_b)
        hidden2 = self.hidden2(hidden1)
        concat = self.concat([input_a, hidden2])
        return self.main_output(concat), self.aux_output(hidden2)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, activation=keras.activations.serialize(self.activation))
        return config


def _functional(shapes, units, activation):
    hidden1, hidden2, main_output, aux_output = _layers(units, activation)

    def graph(input_a, input_b):
        deep = hidden2(hidden1(input_b))
        concat = keras.layers.Concatenate()([input_a, deep])
        return [main_output(concat), aux_output(deep)]

    return styles.functional(shapes, graph, input_names=["wide_input", "deep_input"])


REFERENCE = register(
    Reference(
        name="wide_and_deep",
        kind="model",
        cls=WideAndDeepModel,
        description="WideAndDeepModel(units, activation): 2 inputs, main and aux outputs",
        seed="000_b308ee707a376633.txt",
        section="Study Notes 1 (Example: Wide and Deep Model)",
        default_kwargs={"units": 30, "activation": "relu"},
        input_shapes=[(4, 5), (4, 6)],
        builders={SUBCLASSED: styles.subclassed(WideAndDeepModel), FUNCTIONAL: _functional},
        traits=frozenset({"multi_input", "multi_output"}),
        compile_kwargs={"optimizer": "adam", "loss": ["mse", "mse"], "loss_weights": [0.9, 0.1]},
        notes_departures=("no-get-config", "not-registered", "multi-output-metrics"),
    )
)
