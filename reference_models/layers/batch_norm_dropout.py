"""The notes' ``call(inputs, training)`` pattern: batch normalisation, then dropout."""

from keras_compat import keras, register_serializable
from reference_models import styles
from reference_models.registry import SUBCLASSED, Reference, register


@register_serializable(package="reference_models")
class BatchNormDropoutBlock(keras.layers.Layer):
    """dropout(batch_norm(x)), forwarding ``training`` to both sublayers explicitly."""

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.batch_norm = keras.layers.BatchNormalization()
        self.dropout = keras.layers.Dropout(rate)

    def build(self, input_shape):
        self.batch_norm.build(input_shape)
        super().build(input_shape)

    def call(self, inputs, training=False):
        x = self.batch_norm(inputs, training=training)
        return self.dropout(x, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate)
        return config


def _builtin_layers(rate):
    return [keras.layers.BatchNormalization(), keras.layers.Dropout(rate)]


REFERENCE = register(
    Reference(
        name="batch_norm_dropout_block",
        kind="layer",
        cls=BatchNormDropoutBlock,
        description="call(inputs, training): dropout(batch_norm(x)) with training forwarded",
        seed="002_a422cb99f433e80a.txt",
        section="Custom Training Loops (the training keyword argument)",
        default_kwargs={"rate": 0.5},
        input_shapes=[(8, 16)],
        builders={
            SUBCLASSED: styles.subclassed(BatchNormDropoutBlock),
            **styles.stack_builders(_builtin_layers),
        },
        traits=frozenset(
            {"non_trainable_state", "stochastic_in_training", "training_dependent"}
        ),
        notes_departures=("training-snippet-only",),
    )
)
