"""The notes' two different ``MyModel`` classes, plus 004's ``MyCustomModel``.

* ``MyModel``: seed ``001_0854074d2154e8f5.txt``, "Subclassing API (Most Advanced)":
  no arguments, Dense(64, relu) -> Dense(10, softmax). Verbatim (the notes break the
  ``dense2`` line after ``Dense(10,``, which is still valid Python).
* ``MyModelNumClasses``: seed ``002_a422cb99f433e80a.txt``, "Adding Parameters":
  ``MyModel(num_classes)`` with logits and no ``call`` method at all. Renamed here so both
  classes can live in one module; the ``super()`` call is renamed with it.
* ``MyModelLogits``: 002's first ``MyModel`` ("How Model Subclassing Works"), the logits
  version with a ``call``, renamed likewise.

Errata: ``two-mymodels``, ``mymodel-no-call``, ``no-kwargs``, ``no-get-config``,
``not-registered``.
"""

import tensorflow as tf


# Define your model by subclassing
class MyModel(tf.keras.Model):
    def __init__(self):
        super(MyModel, self).__init__()
        # Define layers
        self.dense1 = tf.keras.layers.Dense(64, activation='relu')
        self.dense2 = tf.keras.layers.Dense(10,
activation='softmax')
    def call(self, inputs):
        # Forward pass
        x = self.dense1(inputs)
        return self.dense2(x)


# 002, "How Model Subclassing Works", named MyModel in the notes.
class MyModelLogits(tf.keras.Model):
    def __init__(self):
        super(MyModelLogits, self).__init__()  # notes: super(MyModel, self)
        self.dense1 = tf.keras.layers.Dense(64, activation='relu')
        self.dense2 = tf.keras.layers.Dense(10)

    def call(self, inputs):
        x = self.dense1(inputs)
        return self.dense2(x)


# 002, "Adding Parameters", named MyModel in the notes; it has no call method.
class MyModelNumClasses(tf.keras.Model):
    def __init__(self, num_classes):
        super(MyModelNumClasses, self).__init__()  # notes: super(MyModel, self)
        self.dense1 = tf.keras.layers.Dense(64, activation='relu')
        self.dense2 = tf.keras.layers.Dense(num_classes)
