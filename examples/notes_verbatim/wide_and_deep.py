"""WideAndDeepModel, as in the notes.

Seed ``000_b308ee707a376633.txt``, Study Notes 1 (Example: Wide and Deep Model). The class
is verbatim; the import line is added because the notes use ``Model``, ``Dense`` and
``concatenate`` without importing them.

Errata: ``no-get-config`` (``units`` and ``activation`` are not saved, so a reloaded model
is rebuilt with the defaults), ``not-registered``, ``multi-output-metrics`` (with
``compile(metrics=['accuracy'])``, the form the notes use elsewhere).
"""

# Added: the notes' code uses these names without importing them.
from tensorflow.keras import Model
from tensorflow.keras.layers import Dense, concatenate


class WideAndDeepModel(Model):
    def __init__(self, units=30, activation='relu', **kwargs):
        super().__init__(**kwargs)
        self.hidden1 = Dense(units, activation=activation)
        self.hidden2 = Dense(units, activation=activation)
        self.main_output = Dense(1)
        self.aux_output = Dense(1)

    def call(self, inputs):
        input_A, input_B = inputs
        hidden1 = self.hidden1(input_B)
        hidden2 = self.hidden2(hidden1)
        concat = concatenate([input_A, hidden2])
        main_output = self.main_output(concat)
        aux_output = self.aux_output(hidden2)
        return main_output, aux_output
