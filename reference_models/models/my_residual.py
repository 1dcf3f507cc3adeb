"""MyResidual: Dense, a CNNResidual block, one DNNResidual block applied three times, Dense(1).

As written in the notes the model cannot run: Dense(30) feeds CNNResidual(2, 32), whose
unpadded 32-filter convolutions cannot be added to a 30-channel input, and the 32-wide
result feeds DNNResidual(2, 64). Here every stage is ``width`` (32) wide, the convolutions
are padded, and the image features are averaged before the Dense(1) regression head.
"""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.layers.residual import CNNResidual, DNNResidual, residual_graph
from reference_models.registry import FUNCTIONAL, SUBCLASSED, Reference, register

REPEATS = 3


@register_serializable(package="reference_models")
class MyResidual(keras.Model):
    def __init__(self, width=32, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.hidden1 = keras.layers.Dense(width, activation="relu")
        self.block1 = CNNResidual(2, width)
        self.block2 = DNNResidual(2, width)
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.out = keras.layers.Dense(1)

    def call(self, inputs):
        x = self.hidden1(inputs)
        x = self.block1(x)
        for _ in range(REPEATS):  # one block, so its weights are shared by the repeats
            x = self.block2(x)
        return self.out(self.pool(x))

    def get_config(self):
        config = super().get_config()
        config.update(width=self.width)
        return config


def _functional(shapes, width):
    hidden1 = keras.layers.Dense(width, activation="relu")
    cnn = [CNNResidual._make_hidden(width) for _ in range(2)]
    dnn = [DNNResidual._make_hidden(width) for _ in range(2)]
    out = keras.layers.Dense(1)

    def graph(x):
        x = residual_graph(hidden1(x), cnn)
        for _ in range(REPEATS):
            x = residual_graph(x, dnn)
        return out(keras.layers.GlobalAveragePooling2D()(x))

    return styles.functional(shapes, graph)


REFERENCE = register(
    Reference(
        name="my_residual",
        kind="model",
        cls=MyResidual,
        description="Dense -> CNNResidual -> DNNResidual x3 (shared) -> GAP -> Dense(1)",
        seed="000_b308ee707a376633.txt",
        section="Study Notes 5 (Combining Residual Blocks in a Model)",
        default_kwargs={"width": 32},
        input_shapes=[(2, 8, 8, 1)],
        builders={SUBCLASSED: styles.subclassed(MyResidual), FUNCTIONAL: _functional},
        traits=frozenset({"residual", "shared_layer"}),
        compile_kwargs={"optimizer": "adam", "loss": "mse"},
        notes_departures=("my-residual-shapes", "cnn-residual-padding", "repeat-shares-weights"),
    )
)
