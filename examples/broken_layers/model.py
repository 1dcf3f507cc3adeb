"""Models that break the model contracts."""

import tensorflow as tf

from keras_compat import keras, register_serializable

_VECTOR = [(4, 7)]


@register_serializable(package="broken_layers")
class EagerOnlyTrainStep(keras.Model):
    """Breaks check_model_compile_fit_evaluate_predict: its custom train_step records each
    loss with float(loss), which works in eager debugging but not in the graph fit() runs."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(units)
        self.loss_log = []

    def call(self, inputs):
        return self.head(self.hidden(inputs))

    def train_step(self, data):
        inputs, targets = data
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(targets - self(inputs, training=True)))
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.loss_log.append(float(loss))
        return {"loss": loss}

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_serializable(package="broken_layers")
class SqueezesBatchAxis(keras.Model):
    """Breaks check_model_compile_fit_evaluate_predict: a regression model that drops its
    trailing axis with tf.squeeze() and no axis, so the output's rank is unknown when fit()
    traces it, and a batch of one sample loses its batch axis."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.regressor = keras.layers.Dense(1)

    def call(self, inputs):
        return tf.squeeze(self.regressor(self.hidden(inputs)))


@register_serializable(package="broken_layers")
class HidesFrozenLayer(keras.Model):
    """Breaks check_model_summary_counts: freezes its first layer by overriding
    ``trainable_weights`` to leave it out, so that layer's weights are counted nowhere."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.frozen = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(units)

    @property
    def trainable_weights(self):
        return self.head.trainable_weights

    def call(self, inputs):
        return self.head(self.frozen(inputs))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


BROKEN = {
    "check_model_compile_fit_evaluate_predict": [
        (EagerOnlyTrainStep, {"units": 4}, _VECTOR),
        (SqueezesBatchAxis, {}, _VECTOR),
    ],
    "check_model_summary_counts": [(HidesFrozenLayer, {"units": 4}, _VECTOR)],
}
