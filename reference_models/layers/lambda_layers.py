"""The notes' Lambda layers: ``tf.abs`` and ``my_relu``, as registered functions.

A Lambda wrapping a Python ``lambda`` is saved as bytecode, which ``load_model`` refuses
in safe mode; Keras 2 does the same with any Python function, named or not. So the
Lambda used here, :class:`RegisteredLambda`, saves its function by its registered name
and reloads in safe mode on both versions wherever this module is imported. Each
function is also given as a weightless ``Layer`` subclass, its subclassed form.
"""

import tensorflow as tf

from keras_compat import keras, register_serializable, registered_name
from reference_models import styles
from reference_models.registry import SUBCLASSED, Reference, register

PACKAGE = "reference_models"


# Registered under prefixed names: Keras 3.7+ resolves a user's unregistered function
# saved as plain "my_relu" to any registered "<package>>my_relu", so a plain name here
# would silently replace the user's function of the same name when a model is loaded.
@register_serializable(package=PACKAGE, name="reference_absolute")
def absolute(x):
    """Elementwise |x| (the notes' ``lambda x: tf.abs(x)``)."""
    return tf.abs(x)


@register_serializable(package=PACKAGE, name="reference_my_relu")
def my_relu(x, threshold=0.0):
    """max(threshold, x): ReLU for threshold 0, a clamp at the threshold otherwise."""
    return tf.maximum(tf.cast(threshold, x.dtype), x)


@register_serializable(package=PACKAGE)
class RegisteredLambda(keras.layers.Lambda):
    """A ``Lambda`` whose function must be registered and is saved by that name."""

    def __init__(self, function, **kwargs):
        if keras.saving.get_registered_object(registered_name(function)) is not function:
            raise ValueError(
                f"{function!r} is not registered; decorate it with "
                "keras.saving.register_keras_serializable"
            )
        super().__init__(function, **kwargs)

    def get_config(self):
        config = keras.layers.Layer.get_config(self)  # name, dtype, trainable only
        config.update(function=registered_name(self.function), arguments=self.arguments)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        function = keras.saving.get_registered_object(config.pop("function"))
        return cls(function, **config)


def abs_lambda():
    return RegisteredLambda(absolute)


def my_relu_lambda(threshold=0.0):
    return RegisteredLambda(my_relu, arguments={"threshold": threshold})


class _ElementwiseLayer(keras.layers.Layer):
    """A weightless layer applying one elementwise function; shape-preserving."""

    def compute_output_shape(self, input_shape):
        return input_shape


@register_serializable(package=PACKAGE)
class Abs(_ElementwiseLayer):
    def call(self, inputs):
        return absolute(inputs)


@register_serializable(package=PACKAGE)
class MyReLU(_ElementwiseLayer):
    def __init__(self, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold

    def call(self, inputs):
        return my_relu(inputs, self.threshold)

    def get_config(self):
        config = super().get_config()
        config.update(threshold=self.threshold)
        return config


LAMBDA_ABS = register(
    Reference(
        name="lambda_abs",
        kind="layer",
        cls=Abs,
        description="Lambda(tf.abs): elementwise absolute value, no weights",
        seed="003_726034012fa7b10e.txt",
        section="Study Notes 6 (Using Lambda Layers for Quick Custom Computations)",
        default_kwargs={},
        checker_traits=frozenset({"tensorflow_only"}),  # tf.abs, as the notes write it
        input_shapes=[(4, 16)],
        builders={
            SUBCLASSED: styles.subclassed(Abs),
            **styles.stack_builders(lambda: [abs_lambda()]),
        },
        traits=frozenset({"weightless"}),
        notes_departures=("lambda-python-lambda",),
    )
)

LAMBDA_MY_RELU = register(
    Reference(
        name="lambda_my_relu",
        kind="layer",
        cls=MyReLU,
        description="Lambda(my_relu): max(threshold, x), threshold 0 by default, no weights",
        seed="003_726034012fa7b10e.txt",
        section="Study Notes 6 (my_relu) and Question 9 (the 0.5 threshold variant)",
        default_kwargs={"threshold": 0.0},
        checker_traits=frozenset({"tensorflow_only"}),  # tf.maximum, as the notes write it
        input_shapes=[(4, 16)],
        builders={
            SUBCLASSED: styles.subclassed(MyReLU),
            **styles.stack_builders(lambda threshold: [my_relu_lambda(threshold)]),
        },
        traits=frozenset({"weightless"}),
        notes_departures=("keras-backend-maximum",),
    )
)
