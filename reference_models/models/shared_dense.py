"""One Dense layer shared by two inputs, giving two outputs (a Siamese-style model)."""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import FUNCTIONAL, SUBCLASSED, Reference, register


@register_serializable(package="reference_models")
class SharedDenseModel(keras.Model):
    """(input1, input2) -> (shared(input1), shared(input2)), one set of weights."""

    def __init__(self, units=64, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.shared = keras.layers.Dense(units, activation="relu")

    def call(self, inputs):
        input1, input2 = inputs
        return self.shared(input1), self.shared(input2)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


def _functional(shapes, units):
    shared = keras.layers.Dense(units, activation="relu")
    return styles.functional(
        shapes, lambda a, b: [shared(a), shared(b)], input_names=["input1", "input2"]
    )


REFERENCE = register(
    Reference(
        name="shared_dense_two_output",
        kind="model",
        cls=SharedDenseModel,
        description="A Dense(64, relu) shared by two 784-wide inputs; one output per input",
        seed="004_c26640069bb2c47f.txt",
        section="Custom Models with Multiple Inputs and Outputs",
        default_kwargs={"units": 64},
        input_shapes=[(4, 784), (4, 784)],
        builders={SUBCLASSED: styles.subclassed(SharedDenseModel), FUNCTIONAL: _functional},
        traits=frozenset({"multi_input", "multi_output", "shared_layer"}),
        compile_kwargs={"optimizer": "adam", "loss": ["mse", "mse"]},
        notes_departures=("shared-layer-loss",),
    )
)
