"""The notes' two-Dense-layer classifiers: Sequential 784-64-10, MyModel, MyCustomModel."""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import SUBCLASSED, Reference, register


def _two_dense(hidden_units, outputs, output_activation):
    return [
        keras.layers.Dense(hidden_units, activation="relu"),
        keras.layers.Dense(outputs, activation=output_activation),
    ]


class _TwoDense(keras.Model):
    """dense2(dense1(x)) with a ReLU hidden layer; subclasses fix the sizes."""

    def _make_layers(self, hidden_units, outputs, output_activation):
        self.dense1, self.dense2 = _two_dense(hidden_units, outputs, output_activation)

    def call(self, inputs):
        x = self.dense1(inputs)
        return self.dense2(x)


@register_serializable(package="reference_models")
class MnistClassifier(_TwoDense):
    """784 -> Dense(64, relu) -> Dense(10, softmax): the Sequential example and the
    argument-less ``MyModel`` of 001, which is the same network."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._make_layers(64, 10, "softmax")


@register_serializable(package="reference_models")
class MyModel(_TwoDense):
    """MyModel(num_classes): Dense(64, relu) -> Dense(num_classes) logits (002)."""

    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self._make_layers(64, num_classes, None)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes)
        return config


@register_serializable(package="reference_models")
class MyCustomModel(_TwoDense):
    """MyCustomModel(): Dense(128, relu) -> Dense(10, softmax) (004)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._make_layers(128, 10, "softmax")


MNIST_SEQUENTIAL = register(
    Reference(
        name="mnist_sequential",
        kind="model",
        cls=MnistClassifier,
        description="Dense(64, relu) -> Dense(10, softmax) on flattened 28x28 digits",
        seed="001_0854074d2154e8f5.txt",
        section="Sequential API, Functional API and Subclassing API (MyModel) examples",
        default_kwargs={},
        checker_traits=frozenset({"tensorflow_only"}),  # SimpleDense's tf.matmul
        input_shapes=[(4, 784)],
        builders={
            SUBCLASSED: styles.subclassed(MnistClassifier),
            **styles.stack_builders(lambda: _two_dense(64, 10, "softmax")),
        },
        compile_kwargs={
            "optimizer": "adam",
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
        },
        notes_departures=("input-shape-kwarg", "functional-snippet-cut", "two-mymodels"),
    )
)

MY_MODEL = register(
    Reference(
        name="my_model",
        kind="model",
        cls=MyModel,
        description="MyModel(num_classes): Dense(64, relu) -> Dense(num_classes) logits",
        seed="002_a422cb99f433e80a.txt",
        section="Adding Parameters (MyModel with num_classes)",
        default_kwargs={"num_classes": 10},
        input_shapes=[(4, 784)],
        builders={
            SUBCLASSED: styles.subclassed(MyModel),
            **styles.stack_builders(lambda num_classes: _two_dense(64, num_classes, None)),
        },
        compile_kwargs={
            "optimizer": "adam",
            "loss": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        },
        notes_departures=("mymodel-no-call", "no-kwargs", "no-get-config", "two-mymodels"),
    )
)

MY_CUSTOM_MODEL = register(
    Reference(
        name="my_custom_model",
        kind="model",
        cls=MyCustomModel,
        description="MyCustomModel(): Dense(128, relu) -> Dense(10, softmax)",
        seed="004_c26640069bb2c47f.txt",
        section="Custom Models: Example Code to Create a Custom Model",
        default_kwargs={},
        input_shapes=[(4, 784)],
        builders={
            SUBCLASSED: styles.subclassed(MyCustomModel),
            **styles.stack_builders(lambda: _two_dense(128, 10, "softmax")),
        },
        compile_kwargs={
            "optimizer": "adam",
            "loss": "categorical_crossentropy",
            "metrics": ["accuracy"],
        },
        notes_departures=("no-kwargs", "not-registered"),
    )
)
