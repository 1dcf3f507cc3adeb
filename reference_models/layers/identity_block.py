"""IdentityBlock: ResNet's residual unit, relu(x + bn(conv(relu(bn(conv(x)))))).

The notes subclass ``tf.keras.Model`` for it and take no ``**kwargs``. It is a layer, not
a trainable whole, so it subclasses ``Layer`` here and accepts the base-layer kwargs.
"""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import FUNCTIONAL, SUBCLASSED, Reference, register


def _conv(filters, kernel_size):
    return keras.layers.Conv2D(filters, kernel_size, padding="same")


@register_serializable(package="reference_models")
class IdentityBlock(keras.layers.Layer):
    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters
        self.kernel_size = kernel_size
        self.conv1 = _conv(filters, kernel_size)
        self.bn1 = keras.layers.BatchNormalization()
        self.conv2 = _conv(filters, kernel_size)
        self.bn2 = keras.layers.BatchNormalization()
        self.act = keras.layers.Activation("relu")
        self.add = keras.layers.Add()

    def build(self, input_shape):
        self.conv1.build(input_shape)
        inner_shape = self.conv1.compute_output_shape(input_shape)
        self.bn1.build(inner_shape)
        self.conv2.build(inner_shape)
        self.bn2.build(self.conv2.compute_output_shape(inner_shape))
        super().build(input_shape)

    def residual_branch(self, inputs, training=None):
        """F(x): the two conv + batch-norm stages, before the skip and the final ReLU."""
        x = self.conv1(inputs)
        x = self.bn1(x, training=training)
        x = self.act(x)
        x = self.conv2(x)
        return self.bn2(x, training=training)

    def call(self, inputs, training=None):
        x = self.residual_branch(inputs, training=training)
        return self.act(self.add([x, inputs]))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size)
        return config


def identity_block_graph(x, filters, kernel_size):
    """The same block as Functional-API calls on built-in layers."""
    relu = keras.layers.Activation("relu")
    y = _conv(filters, kernel_size)(x)
    y = keras.layers.BatchNormalization()(y)
    y = relu(y)
    y = _conv(filters, kernel_size)(y)
    y = keras.layers.BatchNormalization()(y)
    return relu(keras.layers.Add()([y, x]))


REFERENCE = register(
    Reference(
        name="identity_block",
        kind="layer",
        cls=IdentityBlock,
        description="IdentityBlock(filters, kernel_size): relu(x + BN-conv-ReLU-BN-conv(x))",
        seed="000_b308ee707a376633.txt",
        section="Study Notes 6 (Identity Block Example)",
        default_kwargs={"filters": 4, "kernel_size": 3},
        input_shapes=lambda filters, kernel_size: [(2, 8, 8, filters)],
        builders={
            SUBCLASSED: styles.subclassed(IdentityBlock),
            FUNCTIONAL: lambda shapes, filters, kernel_size: styles.functional(
                shapes, lambda x: identity_block_graph(x, filters, kernel_size)
            ),
        },
        traits=frozenset({"residual", "non_trainable_state", "training_dependent"}),
        notes_departures=("model-as-layer", "no-kwargs", "no-get-config", "not-registered"),
    )
)
