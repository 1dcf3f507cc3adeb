"""Correct custom layers and models: every check must pass them."""

import tensorflow as tf

from keras_compat import keras


@keras.saving.register_keras_serializable(package="user_layers")
class ScaledDense(keras.layers.Layer):
    """A team's own SimpleDense: activation(x @ kernel + bias), meant to match the reference."""

    def __init__(self, units=32, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.units),
            initializer=keras.initializers.RandomNormal(stddev=0.05),
        )
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return self.activation(tf.matmul(inputs, self.kernel) + self.bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
        }


@keras.saving.register_keras_serializable(package="user_layers")
class ResidualMLP(keras.layers.Layer):
    """x + relu-dense^layers(x): a DNNResidual twin with the notes' argument names."""

    def __init__(self, layers, neurons, **kwargs):
        super().__init__(**kwargs)
        self.neurons = neurons
        self.hidden = [keras.layers.Dense(neurons, activation="relu") for _ in range(layers)]

    def build(self, input_shape):
        # Keras 3 loads weights right after build(): sublayers must exist by then.
        shape = input_shape
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs):
        x = inputs
        for layer in self.hidden:
            x = layer(x)
        return inputs + x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "layers": len(self.hidden), "neurons": self.neurons}


@keras.saving.register_keras_serializable(package="user_layers")
class TwoTowerModel(keras.Model):
    """Two inputs, one Dense tower each, concatenated into one regression output."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.left = keras.layers.Dense(units, activation="relu")
        self.right = keras.layers.Dense(units, activation="relu")
        self.concat = keras.layers.Concatenate()
        self.head = keras.layers.Dense(1)

    def call(self, inputs):
        left, right = inputs
        return self.head(self.concat([self.left(left), self.right(right)]))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="user_layers")
class CrossAttentionBlock(keras.layers.Layer):
    """A transformer's cross-attention sublayer, called as
    block(query=..., value=..., attention_mask=...): attention, dropout, residual, norm."""

    def __init__(self, num_heads=2, key_dim=8, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.dropout = dropout
        self.attention = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=key_dim)
        self.drop = keras.layers.Dropout(dropout)
        self.norm = keras.layers.LayerNormalization()
        self.supports_masking = True  # the output keeps the query's time steps: hand its mask on

    def call(self, query, value, attention_mask=None, training=None):
        attended = self.attention(query=query, value=value, attention_mask=attention_mask,
                                  training=training)
        return self.norm(query + self.drop(attended, training=training))

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="user_layers")
class TokenAndPositionEmbedding(keras.layers.Layer):
    """Token ids -> token embedding + learned position embedding; id 0 is padding, masked."""

    def __init__(self, vocabulary_size, sequence_length, embedding_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.embedding_dim = embedding_dim
        self.tokens = keras.layers.Embedding(vocabulary_size, embedding_dim, mask_zero=True)
        self.positions = keras.layers.Embedding(sequence_length, embedding_dim)

    def call(self, inputs):
        positions = tf.range(tf.shape(inputs)[-1])
        return self.tokens(inputs) + self.positions(positions)

    def compute_mask(self, inputs, mask=None):
        return self.tokens.compute_mask(inputs)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length, "embedding_dim": self.embedding_dim}
