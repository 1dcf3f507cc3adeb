"""Code blocks of the notes that are not a class or a complete program, kept as text.

Some of the notes' code blocks do not compile, or only run after another block has
defined their names, so they cannot be module code. They are kept here verbatim as
strings; :func:`run_snippet` compiles and runs one in a fresh namespace (optionally
pre-filled), which is how their behaviour was measured.

* ``SEQUENTIAL`` (001, "Sequential API"): runs; ``input_shape=`` (``input-shape-kwarg``).
* ``FUNCTIONAL`` (001, "Functional API"): the ``model.compile(`` line is cut off
  mid-call, a ``SyntaxError`` (``functional-snippet-cut``).
* ``MULTI_INPUT`` (001, "Example: Multi-Input Model"): two comments wrapped onto a new
  line, leaving bare ``outputs`` and ``value`` statements, and ``Input``, ``Dense`` and
  ``Model`` used without an import (``multi-input-snippet-cut``).
* ``TRAINING_CALL`` (002, "Custom Training Loops"): a bare ``call(inputs, training)``
  method with no class around it (``training-snippet-only``).
"""

SEQUENTIAL = """\
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Dense

# Create a Sequential model
model = Sequential([
    Dense(64, activation='relu', input_shape=(784,)),
    Dense(10, activation='softmax')
])

# Compile the model
model.compile(optimizer='adam', loss='sparse_categorical_crossentropy',
metrics=['accuracy'])
"""

FUNCTIONAL = """\
from tensorflow.keras.models import Model
from tensorflow.keras.layers import Input, Dense

# Define the input
inputs = Input(shape=(784,))

# Define layers
x = Dense(64, activation='relu')(inputs)
outputs = Dense(10, activation='softmax')(x)

# Create the model
model = Model(inputs=inputs, outputs=outputs)

# Compile the model
model.compile(optimizer='adam', loss='categorical_crossentropy',
"""

MULTI_INPUT = """\

from tensorflow.keras.layers import concatenate

# Define two sets of inputs
inputA = Input(shape=(64,))
inputB = Input(shape=(128,))

# The first branch operates on the first input
x = Dense(8, activation='relu')(inputA)
x = Dense(4, activation='relu')(x)

# The second branch operates on the second input
y = Dense(16, activation='relu')(inputB)
y = Dense(4, activation='relu')(y)

# Combine the outputs of the two branches
combined = concatenate([x, y])

# Apply a dense layer and then a regression prediction on the combined
outputs
z = Dense(2, activation='relu')(combined)
z = Dense(1, activation='linear')(z)

# The model will accept the inputs of the two branches and output a single
value
model = Model(inputs=[inputA, inputB], outputs=z)

# Compile the model
model.compile(optimizer='adam', loss='mean_squared_error')

"""

TRAINING_CALL = """\
def call(self, inputs, training=False):  
    x = self.batch_norm(inputs, training=training)  
    return self.dropout(x, training=training)  
"""


def run_snippet(source, namespace=None):
    """Compile and run ``source`` in a copy of ``namespace``; return the namespace."""
    scope = dict(namespace or {})
    exec(compile(source, "<notes snippet>", "exec"), scope)
    return scope
