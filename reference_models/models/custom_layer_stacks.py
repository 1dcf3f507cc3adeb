"""Custom layers used inside Sequential models: CustomDense x2 and the MyCustomLayer stack."""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.layers.custom_dense import CustomDense
from reference_models.layers.my_custom_layer import MyCustomLayer
from reference_models.registry import SUBCLASSED, Reference, register


def _custom_dense_layers():
    return [CustomDense(32), CustomDense(10)]


def _my_custom_layer_layers():
    return [
        keras.layers.Dense(64, activation="relu"),
        MyCustomLayer(),
        keras.layers.Dense(10, activation="softmax"),
    ]


@register_serializable(package="reference_models")
class CustomDenseStack(keras.Model):
    """CustomDense(32) -> CustomDense(10)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense1, self.dense2 = _custom_dense_layers()

    def call(self, inputs):
        return self.dense2(self.dense1(inputs))


@register_serializable(package="reference_models")
class MyCustomLayerStack(keras.Model):
    """Dense(64, relu) -> MyCustomLayer() -> Dense(10, softmax)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense, self.custom, self.classifier = _my_custom_layer_layers()

    def call(self, inputs):
        return self.classifier(self.custom(self.dense(inputs)))


CUSTOM_DENSE_STACK = register(
    Reference(
        name="custom_dense_stack",
        kind="model",
        cls=CustomDenseStack,
        description="Sequential([CustomDense(32), CustomDense(10)])",
        seed="001_0854074d2154e8f5.txt",
        section="Using the Custom Layer in a Model",
        default_kwargs={},
        checker_traits=frozenset({"tensorflow_only"}),  # CustomDense's tf ops
        input_shapes=[(4, 20)],
        builders={
            SUBCLASSED: styles.subclassed(CustomDenseStack),
            **styles.stack_builders(_custom_dense_layers),
        },
        compile_kwargs={"optimizer": "adam", "loss": "mse"},
        notes_departures=("custom-dense-syntax",),
    )
)

MY_CUSTOM_LAYER_STACK = register(
    Reference(
        name="my_custom_layer_stack",
        kind="model",
        cls=MyCustomLayerStack,
        description="Sequential([Dense(64, relu), MyCustomLayer(), Dense(10, softmax)])",
        seed="004_c26640069bb2c47f.txt",
        section="Custom Layers: Example usage in a model",
        default_kwargs={},
        checker_traits=frozenset({"tensorflow_only"}),  # MyCustomLayer's tf.matmul
        input_shapes=[(4, 32)],
        builders={
            SUBCLASSED: styles.subclassed(MyCustomLayerStack),
            **styles.stack_builders(_my_custom_layer_layers),
        },
        compile_kwargs={
            "optimizer": "adam",
            "loss": "categorical_crossentropy",
            "metrics": ["accuracy"],
        },
        notes_departures=("add-weight-positional-name",),
    )
)
