"""The notes' first training example: one SimpleDense unit learns y = 2x - 1."""

import numpy as np

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.layers.simple_dense import SimpleDense
from reference_models.registry import SUBCLASSED, Reference, register

#: The six points the course trains on.
XS = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype="float32").reshape(-1, 1)
YS = 2.0 * XS - 1.0


@register_serializable(package="reference_models")
class LinearRegression(keras.Model):
    """A single SimpleDense(1): prediction = w * x + b."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = SimpleDense(1)

    def call(self, inputs):
        return self.dense(inputs)


REFERENCE = register(
    Reference(
        name="linear_regression",
        kind="model",
        cls=LinearRegression,
        description="SimpleDense(1) trained with SGD and MSE to learn y = 2x - 1",
        seed="003_726034012fa7b10e.txt",
        section="Study Notes 4 (Training a Model with a Custom Layer) and Key Point 9",
        default_kwargs={},
        checker_traits=frozenset({"tensorflow_only"}),  # SimpleDense's tf.matmul
        input_shapes=[(6, 1)],
        builders={
            SUBCLASSED: styles.subclassed(LinearRegression),
            **styles.stack_builders(lambda: [SimpleDense(1)]),
        },
        compile_kwargs={"optimizer": "sgd", "loss": "mean_squared_error"},
        notes_departures=("raw-tf-variable",),
    )
)
