"""What runs in a backend's child process (:func:`conformance.backends.run_on`): the target
rebuilt from its spec's payload on that backend, given the TensorFlow backend's weights
through a ``.weights.h5`` file, and asked for outputs, gradients, a loaded ``.keras`` file's
outputs or one fit step. Everything comes back as NumPy arrays.

Only Keras's backend-neutral API is used here, except for gradients, which each backend
computes its own way: JAX with ``jax.grad`` through the model's ``stateless_call``, PyTorch
with autograd.
"""

import inspect

import numpy as np

from conformance.tensors import flatten


def _numpy(tensor):
    from keras_compat import keras

    return np.asarray(keras.ops.convert_to_numpy(tensor))


def _model(payload, weights_path=None):
    """(spec, model): the target built on this backend, in the model the TensorFlow side
    built around it, with the TensorFlow side's weights when ``weights_path`` is given."""
    from conformance.spec import spec_from_payload
    from keras_compat import keras

    spec = spec_from_payload(payload)
    _unfiltered_tracebacks()
    keras.utils.set_random_seed(0)
    model = spec.model_of(spec.built())
    if weights_path is not None:
        model.load_weights(weights_path)
    return spec, model


def _unfiltered_tracebacks():
    """Keep every frame in a failure's traceback, so the user's failing line shows (Keras's
    filtering also turns a JAX tracer's conversion error into an unrelated AttributeError)."""
    from keras_compat import keras

    keras.config.disable_traceback_filtering()


def outputs_of(spec, model, values):
    """The inference outputs of ``model`` on ``values``, a flat list of arrays."""
    return [_numpy(leaf) for leaf in flatten(model(spec.model_data(model, values), training=False))]


def weights_of(model):
    """``[(path, array)]`` of every weight of ``model``, in its order."""
    return [(getattr(v, "path", v.name), _numpy(v.value)) for v in model.weights]


def outputs(payload, weights_path, values):
    """The target's inference outputs with the given weights, from ``predict`` (compiled
    where the backend compiles: with ``jax.jit`` on JAX), on the whole batch at once."""
    spec, model = _model(payload, weights_path)
    return predicted(spec, model, values)


def predicted(spec, model, values):
    """``model.predict`` on ``values`` in one batch, a flat list of arrays; not compiled for a
    target declaring ``not_xla_compatible`` (on JAX, compiling is XLA)."""
    if spec.has_trait("not_xla_compatible"):
        model.jit_compile = False
    data = spec.model_data(model, values)
    return [_numpy(leaf) for leaf in flatten(model.predict(data, batch_size=spec.batch_size, verbose=0))]


def keras_file_outputs(payload, keras_path, values, save_path):
    """The inference outputs of the ``.keras`` file loaded in safe mode (the target's module
    imported first, so it registers its classes); the loaded model is saved again to
    ``save_path``, for the TensorFlow side to load."""
    import conformance.wrapping  # noqa: F401 - registers the adapters a model of the target may hold
    import keras_compat as compat
    from conformance.spec import spec_from_payload

    spec = spec_from_payload(payload)
    _unfiltered_tracebacks()
    model = compat.load_model(keras_path)  # safe mode, whatever the target's import switched
    seen = predicted(spec, model, values)
    model.save(save_path)
    return seen


def gradients(payload, weights_path, values, projections):
    """:func:`gradients_of` the target with the given weights."""
    spec, model = _model(payload, weights_path)
    return gradients_of(spec, model, values, projections)


def gradients_of(spec, model, values, projections):
    """``(weight gradients, {input key: gradient})`` of :func:`projected_loss` in inference,
    w.r.t. the trainable weights (in the model's order) and the floating-point inputs, on
    this process's backend. A weight or input the loss does not depend on gets zeros."""
    from keras_compat import keras

    float_keys = [key for key, array in values.items() if np.issubdtype(np.asarray(array).dtype, np.floating)]
    # every input a tensor of the backend: Keras refuses a structure mixing tensors and arrays
    values = {key: keras.ops.convert_to_tensor(array) for key, array in values.items()}
    routine = {"jax": _jax_gradients, "torch": _torch_gradients, "tensorflow": _tensorflow_gradients}
    backend = keras.backend.backend()
    if backend not in routine:
        raise RuntimeError(f"no gradient routine for the {backend} backend")
    weight_grads, input_grads = routine[backend](spec, model, values, float_keys, projections)
    weight_grads = [np.zeros(np.shape(v), "float32") if g is None else _numpy(g)
                    for v, g in zip(model.trainable_variables, weight_grads)]
    input_grads = {key: np.zeros(tuple(values[key].shape), "float32") if g is None else _numpy(g)
                   for key, g in zip(float_keys, input_grads)}
    return weight_grads, input_grads


def projected_loss(outputs, projections, ops):
    """``sum(output * projection)`` over the outputs given a projection (the floating-point
    ones), in float32: no weight's gradient cancels out as in a sum of squares."""
    total = ops.convert_to_tensor(0.0, "float32")
    for leaf, projection in zip(flatten(outputs), projections):
        if projection is not None:
            total = total + ops.sum(ops.cast(leaf, "float32") * ops.convert_to_tensor(projection))
    return total


def _jax_gradients(spec, model, values, float_keys, projections):
    import jax

    from keras_compat import keras

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    # stateless_call hands its keywords to call() as they are: a model's call() may take no training
    inference = {"training": False} if "training" in inspect.signature(model.call).parameters else {}

    def loss(trainable_values, float_inputs):
        given = dict(values, **dict(zip(float_keys, float_inputs)))
        outputs, _ = model.stateless_call(trainable_values, non_trainable, spec.model_data(model, given),
                                          **inference)
        return projected_loss(outputs, projections, keras.ops)

    float_inputs = [values[key] for key in float_keys]
    return jax.grad(loss, argnums=(0, 1))(trainable, float_inputs)


def _torch_gradients(spec, model, values, float_keys, projections):
    import torch

    from keras_compat import keras

    given = dict(values)
    float_inputs = []
    for key in float_keys:
        given[key] = values[key].detach().clone().requires_grad_(True)
        float_inputs.append(given[key])
    outputs = model(spec.model_data(model, given), training=False)
    loss = projected_loss(outputs, projections, keras.ops)
    weights = [v.value for v in model.trainable_variables]
    sources = weights + float_inputs
    if not sources or not loss.requires_grad:
        return [None] * len(weights), [None] * len(float_inputs)
    grads = torch.autograd.grad(loss, sources, allow_unused=True)
    return list(grads[:len(weights)]), list(grads[len(weights):])


def _tensorflow_gradients(spec, model, values, float_keys, projections):
    import tensorflow as tf

    from keras_compat import keras

    given = dict(values)
    float_inputs = [values[key] for key in float_keys]
    with tf.GradientTape() as tape:
        tape.watch(float_inputs)
        given.update(zip(float_keys, float_inputs))
        loss = projected_loss(model(spec.model_data(model, given), training=False), projections, keras.ops)
    weights = list(model.trainable_variables)
    grads = tape.gradient(loss, weights + float_inputs)
    return list(grads[:len(weights)]), list(grads[len(weights):])


def fit_step(payload, weights_path, values, losses, targets, batch_size, learning_rate, jit_compile):
    """:func:`fit_step_of` the target with the given weights."""
    spec, model = _model(payload, weights_path)
    return fit_step_of(spec, model, values, losses, targets, batch_size, learning_rate, jit_compile)


def fit_step_of(spec, model, values, losses, targets, batch_size, learning_rate, jit_compile):
    """``[(path, array)]`` of every weight of ``model`` after one ``fit`` step of SGD on the
    whole batch."""
    import warnings

    from keras_compat import keras

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "the model does not have any trainable weights"
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss=losses,
                      jit_compile=jit_compile)
        model.fit(spec.model_data(model, values), targets, batch_size=batch_size, epochs=1, shuffle=False,
                  verbose=0)
    return weights_of(model)
