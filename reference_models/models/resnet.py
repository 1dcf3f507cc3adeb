"""A small ResNet: 7x7 conv, batch norm, ReLU, max pool, two identity blocks, GAP, softmax."""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.layers.identity_block import IdentityBlock, identity_block_graph
from reference_models.registry import FUNCTIONAL, SUBCLASSED, Reference, register


def _stem():
    return [
        keras.layers.Conv2D(64, 7, padding="same"),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.MaxPool2D((3, 3)),
    ]


@register_serializable(package="reference_models")
class ResNet(keras.Model):
    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.conv, self.bn, self.act, self.max_pool = _stem()
        self.id1a = IdentityBlock(64, 3)
        self.id1b = IdentityBlock(64, 3)
        self.global_pool = keras.layers.GlobalAveragePooling2D()
        self.classifier = keras.layers.Dense(num_classes, activation="softmax")

    def call(self, inputs, training=None):
        x = self.conv(inputs)
        x = self.bn(x, training=training)
        x = self.act(x)
        x = self.max_pool(x)
        x = self.id1a(x, training=training)
        x = self.id1b(x, training=training)
        x = self.global_pool(x)
        return self.classifier(x)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes)
        return config


def _functional(shapes, num_classes):
    def graph(x):
        x = styles.chain(x, _stem())
        x = identity_block_graph(x, 64, 3)
        x = identity_block_graph(x, 64, 3)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.layers.Dense(num_classes, activation="softmax")(x)

    return styles.functional(shapes, graph)


REFERENCE = register(
    Reference(
        name="resnet",
        kind="model",
        cls=ResNet,
        description="ResNet(num_classes): conv7x7-BN-ReLU-maxpool, 2 IdentityBlocks, GAP, softmax",
        seed="000_b308ee707a376633.txt",
        section="Study Notes 7 (Complete ResNet Model Example)",
        default_kwargs={"num_classes": 10},
        input_shapes=[(2, 8, 8, 1)],
        builders={SUBCLASSED: styles.subclassed(ResNet), FUNCTIONAL: _functional},
        traits=frozenset({"residual", "non_trainable_state", "training_dependent"}),
        compile_kwargs={
            "optimizer": "adam",
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
        },
        notes_departures=("no-kwargs", "no-get-config", "not-registered"),
    )
)
