"""CNNResidual and DNNResidual: a stack of ReLU layers F with a skip, F(x) + x."""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import FUNCTIONAL, SUBCLASSED, Reference, register


class _Residual(keras.layers.Layer):
    """Shared logic of the residual blocks; subclasses say how to make one hidden layer."""

    def __init__(self, layers, width, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [self._make_hidden(width) for _ in range(layers)]

    def build(self, input_shape):
        shape = input_shape
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        if tuple(shape)[-1] != tuple(input_shape)[-1]:
            raise ValueError(
                f"{type(self).__name__}: the residual path has {shape[-1]} channels but the "
                f"input has {input_shape[-1]}; F(x) + x needs them equal"
            )
        super().build(input_shape)

    def residual_branch(self, inputs):
        """F(x): the block's inner path, without the skip connection."""
        x = inputs
        for layer in self.hidden:
            x = layer(x)
        return x

    def call(self, inputs):
        return inputs + self.residual_branch(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


@register_serializable(package="reference_models")
class CNNResidual(_Residual):
    """``layers`` 3x3 ReLU convolutions of ``filters`` channels plus the input.

    The notes' convolutions have no padding, so F(x) is smaller than x and the sum fails;
    ``padding="same"`` keeps the shapes equal.
    """

    def __init__(self, layers, filters, **kwargs):
        super().__init__(layers, filters, **kwargs)
        self.filters = filters

    @staticmethod
    def _make_hidden(filters):
        return keras.layers.Conv2D(filters, (3, 3), activation="relu", padding="same")

    def get_config(self):
        config = super().get_config()
        config.update(layers=len(self.hidden), filters=self.filters)
        return config


@register_serializable(package="reference_models")
class DNNResidual(_Residual):
    """``layers`` ReLU Dense layers of ``neurons`` units plus the input."""

    def __init__(self, layers, neurons, **kwargs):
        super().__init__(layers, neurons, **kwargs)
        self.neurons = neurons

    @staticmethod
    def _make_hidden(neurons):
        return keras.layers.Dense(neurons, activation="relu")

    def get_config(self):
        config = super().get_config()
        config.update(layers=len(self.hidden), neurons=self.neurons)
        return config


def residual_graph(x, hidden_layers):
    """Functional form: ``x + F(x)`` with F the given stack of built-in layers."""
    branch = x
    for layer in hidden_layers:
        branch = layer(branch)
    return keras.layers.Add()([x, branch])


def _functional_builder(block_cls, width_name):
    def build(shapes, layers, **kwargs):
        width = kwargs[width_name]
        return styles.functional(
            shapes,
            lambda x: residual_graph(x, [block_cls._make_hidden(width) for _ in range(layers)]),
        )

    return build


CNN_RESIDUAL = register(
    Reference(
        name="cnn_residual",
        kind="layer",
        cls=CNNResidual,
        description="CNNResidual(layers, filters): x + relu-conv3x3^layers(x)",
        seed="000_b308ee707a376633.txt",
        section="Study Notes 5 (CNNResidual)",
        default_kwargs={"layers": 2, "filters": 4},
        input_shapes=lambda layers, filters: [(2, 8, 8, filters)],
        builders={
            SUBCLASSED: styles.subclassed(CNNResidual),
            FUNCTIONAL: _functional_builder(CNNResidual, "filters"),
        },
        traits=frozenset({"residual"}),
        notes_departures=("cnn-residual-padding", "no-get-config", "not-registered"),
    )
)

DNN_RESIDUAL = register(
    Reference(
        name="dnn_residual",
        kind="layer",
        cls=DNNResidual,
        description="DNNResidual(layers, neurons): x + relu-dense^layers(x)",
        seed="000_b308ee707a376633.txt",
        section="Study Notes 5 (DNNResidual)",
        default_kwargs={"layers": 2, "neurons": 8},
        input_shapes=lambda layers, neurons: [(4, neurons)],
        builders={
            SUBCLASSED: styles.subclassed(DNNResidual),
            FUNCTIONAL: _functional_builder(DNNResidual, "neurons"),
        },
        traits=frozenset({"residual"}),
        notes_departures=("no-get-config", "not-registered"),
    )
)
