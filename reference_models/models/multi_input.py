"""The multi-input regression model: two Dense branches, concatenated, then two layers."""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import FUNCTIONAL, SUBCLASSED, Reference, register


def _layers():
    # Ordered as a Functional model orders them (by depth), so weight lists line up.
    dense = keras.layers.Dense
    return (
        dense(8, activation="relu"),
        dense(16, activation="relu"),
        dense(4, activation="relu"),
        dense(4, activation="relu"),
        dense(2, activation="relu"),
        dense(1, activation="linear"),
    )


@register_serializable(package="reference_models")
class MultiInputModel(keras.Model):
    """Input A (64) -> 8 -> 4; input B (128) -> 16 -> 4; concatenated -> 2 -> 1."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.a1, self.b1, self.a2, self.b2, self.head, self.regression = _layers()
        self.concat = keras.layers.Concatenate()

    def call(self, inputs):
        input_a, input_b = inputs
        x = self.a2(self.a1(input_a))
        y = self.b2(self.b1(input_b))
        z = self.head(self.concat([x, y]))
        return self.regression(z)


def _functional(shapes):
    a1, b1, a2, b2, head, regression = _layers()

    def graph(input_a, input_b):
        x = a2(a1(input_a))
        y = b2(b1(input_b))
        return regression(head(keras.layers.concatenate([x, y])))

    return styles.functional(shapes, graph, input_names=["input_a", "input_b"])


REFERENCE = register(
    Reference(
        name="multi_input_model",
        kind="model",
        cls=MultiInputModel,
        description="Two inputs (64, 128), separate Dense branches, concatenated to 1 output",
        seed="001_0854074d2154e8f5.txt",
        section="Example: Multi-Input Model",
        default_kwargs={},
        input_shapes=[(4, 64), (4, 128)],
        builders={SUBCLASSED: styles.subclassed(MultiInputModel), FUNCTIONAL: _functional},
        traits=frozenset({"multi_input"}),
        compile_kwargs={"optimizer": "adam", "loss": "mean_squared_error"},
        notes_departures=("multi-input-snippet-cut",),
    )
)
