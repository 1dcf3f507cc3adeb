"""The notes' 28x28 image classifiers: Flatten -> a hidden stage -> Dense(10, softmax).

The hidden stage is SimpleDense(128) + Dropout(0.2), or Dense(128) followed by a Lambda
layer applying ``tf.abs`` or ``my_relu``.
"""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.layers.lambda_layers import abs_lambda, my_relu_lambda
from reference_models.layers.simple_dense import SimpleDense
from reference_models.registry import SUBCLASSED, Reference, register

_IMAGE_BATCH = [(4, 28, 28)]
_COMPILE = {
    "optimizer": "adam",
    "loss": "sparse_categorical_crossentropy",
    "metrics": ["accuracy"],
}
_SECTION_LAMBDA = "Study Notes 6 (Using Lambda Layers for Quick Custom Computations)"


def _simple_dense_dropout_layers():
    return [
        keras.layers.Flatten(),
        SimpleDense(128),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10, activation="softmax"),
    ]


def _lambda_layers(make_lambda):
    return [
        keras.layers.Flatten(),
        keras.layers.Dense(128),
        make_lambda(),
        keras.layers.Dense(10, activation="softmax"),
    ]


@register_serializable(package="reference_models")
class SimpleDenseClassifier(keras.Model):
    """Flatten -> SimpleDense(128) -> Dropout(0.2) -> Dense(10, softmax)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten, self.hidden, self.dropout, self.classifier = _simple_dense_dropout_layers()

    def call(self, inputs, training=None):
        x = self.flatten(inputs)
        x = self.hidden(x)
        x = self.dropout(x, training=training)
        return self.classifier(x)


class _LambdaClassifier(keras.Model):
    """Flatten -> Dense(128) -> Lambda(activation) -> Dense(10, softmax)."""

    make_lambda = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten, self.hidden, self.activation, self.classifier = _lambda_layers(
            type(self).make_lambda
        )

    def call(self, inputs):
        x = self.flatten(inputs)
        x = self.hidden(x)
        x = self.activation(x)
        return self.classifier(x)


@register_serializable(package="reference_models")
class AbsClassifier(_LambdaClassifier):
    make_lambda = staticmethod(abs_lambda)


@register_serializable(package="reference_models")
class MyReLUClassifier(_LambdaClassifier):
    make_lambda = staticmethod(my_relu_lambda)


FLATTEN_SIMPLE_DENSE_DROPOUT = register(
    Reference(
        name="flatten_simple_dense_dropout",
        kind="model",
        cls=SimpleDenseClassifier,
        description="Flatten -> SimpleDense(128) -> Dropout(0.2) -> Dense(10, softmax)",
        seed="003_726034012fa7b10e.txt",
        section="Study Notes 3 (Using Custom Layers in a Model)",
        default_kwargs={},
        input_shapes=_IMAGE_BATCH,
        # tensorflow_only: SimpleDense's tf.matmul in call
        checker_traits=frozenset({"fixed_length", "tensorflow_only"}),  # 28x28 images flattened into a Dense
        builders={
            SUBCLASSED: styles.subclassed(SimpleDenseClassifier),
            **styles.stack_builders(_simple_dense_dropout_layers),
        },
        traits=frozenset({"stochastic_in_training", "training_dependent"}),
        compile_kwargs=_COMPILE,
        notes_departures=("raw-tf-variable", "input-shape-kwarg"),
    )
)

LAMBDA_ABS_CLASSIFIER = register(
    Reference(
        name="lambda_abs_classifier",
        kind="model",
        cls=AbsClassifier,
        description="Flatten -> Dense(128) -> Lambda(abs) -> Dense(10, softmax)",
        seed="003_726034012fa7b10e.txt",
        section=_SECTION_LAMBDA,
        default_kwargs={},
        input_shapes=_IMAGE_BATCH,
        # tensorflow_only: tf.abs in call
        checker_traits=frozenset({"fixed_length", "tensorflow_only"}),  # 28x28 images flattened into a Dense
        builders={
            SUBCLASSED: styles.subclassed(AbsClassifier),
            **styles.stack_builders(lambda: _lambda_layers(abs_lambda)),
        },
        compile_kwargs=_COMPILE,
        notes_departures=("lambda-python-lambda", "input-shape-kwarg"),
    )
)

LAMBDA_MY_RELU_CLASSIFIER = register(
    Reference(
        name="lambda_my_relu_classifier",
        kind="model",
        cls=MyReLUClassifier,
        description="Flatten -> Dense(128) -> Lambda(my_relu) -> Dense(10, softmax)",
        seed="003_726034012fa7b10e.txt",
        section=_SECTION_LAMBDA,
        default_kwargs={},
        input_shapes=_IMAGE_BATCH,
        # tensorflow_only: tf.maximum in call
        checker_traits=frozenset({"fixed_length", "tensorflow_only"}),  # 28x28 images flattened into a Dense
        builders={
            SUBCLASSED: styles.subclassed(MyReLUClassifier),
            **styles.stack_builders(lambda: _lambda_layers(my_relu_lambda)),
        },
        compile_kwargs=_COMPILE,
        notes_departures=("keras-backend-maximum", "input-shape-kwarg"),
    )
)
