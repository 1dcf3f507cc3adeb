"""What the benchmarks run: reference forms with shared weights, inputs, execution modes."""

import functools

import numpy as np
import tensorflow as tf

import reference_models
from keras_compat import keras, sublayers
from reference_models.transfer import copy_weights, randomize_weights

#: Batch sizes: one sample (latency, where framework overhead dominates) and a batch large
#: enough for the arithmetic to dominate (throughput).
SMALL_BATCH, LARGE_BATCH = 1, 256
BATCH_SIZES = (SMALL_BATCH, LARGE_BATCH)

EAGER, GRAPH, XLA = "eager", "tf.function", "xla"
MODES = (EAGER, GRAPH, XLA)


def visible_gpus():
    return tf.config.list_physical_devices("GPU")


def device_label(device):
    """The name a result is labelled with: ``cpu``, or ``gpu:<model>`` on a GPU."""
    if device == "cpu":
        return "cpu"
    details = tf.config.experimental.get_device_details(visible_gpus()[0])
    return f"gpu:{details.get('device_name', 'unknown')}"


def device_scope(device):
    return tf.device("/GPU:0" if device == "gpu" else "/CPU:0")


def reference_forms(name, device):
    """Every API style of reference ``name``, built on ``device``, all with the same weights.

    The subclassed form gets non-default weights and the other styles copies of them, so a
    difference in speed cannot come from different values (denormals, ReLU sparsity).
    """
    reference = reference_models.get(name)
    with device_scope(device):
        forms = {style: reference.build(style) for style in reference.styles}
        subclassed = forms[reference_models.SUBCLASSED]
        randomize_weights(subclassed, seed=0, low=-0.5, high=0.5)
        _keep_variances_positive(subclassed)
        for style, form in forms.items():
            if form is not subclassed:
                copy_weights(subclassed, form)
    return forms


#: Forward benchmarks share one set of forms per reference (inference leaves the weights
#: as they are). Training steps change the weights, so they share a separate set: the
#: forward forms keep equal weights across styles.
forward_forms = functools.lru_cache(maxsize=None)(reference_forms)
training_forms = functools.lru_cache(maxsize=None)(reference_forms)


def _keep_variances_positive(model):
    for layer in [model] + sublayers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_variance.assign(tf.abs(layer.moving_variance) + 0.5)


def inputs_for(name, batch_size, device):
    """One forward pass's inputs for reference ``name`` at ``batch_size``, on ``device``."""
    arrays = reference_models.get(name).example_inputs(batch_size=batch_size, seed=1)
    return to_device(arrays, device)


def to_device(arrays, device):
    with device_scope(device):
        return tf.nest.map_structure(tf.identity, arrays)


def forward(model, mode):
    """``model``'s inference call in ``mode``: op by op, one traced graph, or XLA-compiled."""

    def call(inputs):
        return model(inputs, training=False)

    if mode == EAGER:
        return call
    return tf.function(call, jit_compile=(mode == XLA), reduce_retracing=False)


def training_step(model, mode, learning_rate=1e-3):
    """One SGD step on the mean square of every output: the cost of a backward pass and an
    update, independent of what the model predicts."""
    optimizer = keras.optimizers.SGD(learning_rate)
    variables = model.trainable_variables

    def step(inputs):
        with tf.GradientTape() as tape:
            outputs = tf.nest.flatten(model(inputs, training=True))
            loss = tf.add_n([tf.reduce_mean(tf.square(output)) for output in outputs])
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))
        return loss

    if mode == EAGER:
        return step
    return tf.function(step, jit_compile=(mode == XLA))


def synchronised(fn, device):
    """``fn`` that returns only once its result exists. CPU kernels have finished when the
    call returns; GPU kernels run asynchronously, so the result is fetched to the host."""
    if device == "cpu":
        return fn

    def run(*args):
        result = fn(*args)
        np.asarray(tf.nest.flatten(result)[0])
        return result

    return run
