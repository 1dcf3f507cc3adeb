"""The properties, each a plain function ``property_xxx(layer_factory, data)``.

``layer_factory`` is a :class:`~property_tests.support.Factory` (a reference, or a broken
variant standing in for it); ``data`` is hypothesis's ``st.data()``. A property draws
what it needs (hyperparameters, shapes, values, seeds) and raises ``AssertionError`` when
the layer breaks it. The same function runs in ``test_properties.py`` against the
references and in ``test_broken_variants.py`` against broken layers.
"""

import inspect
import math
import os
import tempfile

import numpy as np
import tensorflow as tf
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import keras_compat as compat
from keras_compat import keras
from conformance.wrapping import ensure_model
from property_tests.support import (
    ACTIVATIONS,
    assert_bit_identical,
    assert_within,
    draw_inputs,
    draw_kwargs,
    draw_seed,
    draw_shapes,
    draw_style,
    find_sublayer,
    keras_input,
    output,
    outputs,
    scramble,
    value_range,
    weight_values,
)
from reference_models.transfer import copy_weights

#: float32 rounding allowance, relative to the size of the terms a result sums: a few
#: hundred ulps, far above what the references lose and far below any real bug.
RTOL = 1e-5
#: The same computation summed in another order (another batch size picks other matmul
#: kernels; another API style other ops), relative to the output's largest element.
#: Measured: under 1e-6 on the references' 784-wide layers.
RTOL_REORDERED = 1e-4
#: Absolute allowance for TensorFlow flushing subnormal results to zero (NumPy keeps them).
ATOL = 1e-30


def _call_accepts_training(method):
    return "training" in inspect.signature(method).parameters


# -- residual blocks ------------------------------------------------------------------------


def property_residual(layer_factory, data):
    """The block's output is F(x) + x with F its own ``residual_branch`` (ReLU of that for
    ``identity_block``); with F's weights zeroed the block is the identity (ReLU)."""
    kwargs = draw_kwargs(data, layer_factory)
    (shape,) = draw_shapes(data, layer_factory, kwargs)
    x = draw_inputs(data, [shape])
    block = layer_factory(**kwargs)
    block(x, training=False)
    scramble(block, draw_seed(data, "weight seed"))
    final_relu = layer_factory.name == "identity_block"
    finish = ACTIVATIONS["relu"] if final_relu else ACTIVATIONS[None]

    branch_kwargs = {"training": False} if _call_accepts_training(block.residual_branch) else {}
    branch = np.asarray(block.residual_branch(x, **branch_kwargs), dtype="float64")
    x64 = x.astype("float64")
    assert_within(
        output(block, x), finish(branch + x64), RTOL * (np.abs(branch) + np.abs(x64)) + ATOL,
        "output against F(x) + x" + (" under the final ReLU" if final_relu else ""),
    )

    for variable in block.trainable_weights:
        variable.assign(np.zeros(tuple(variable.shape), dtype="float32"))
    identity = output(block, x)
    np.testing.assert_array_equal(
        identity, finish(x64), err_msg="with F's weights zeroed the block is not the identity"
    )


# -- dense layers ---------------------------------------------------------------------------

#: The activation each dense reference applies; simple_dense takes it from its kwargs.
DENSE_ACTIVATION = {"custom_dense": "relu", "my_custom_layer": None}


def property_dense_formula(layer_factory, data):
    """The output is activation(x @ kernel + bias) computed in NumPy on the layer's own
    weights, with the activation applied exactly once."""
    kwargs = draw_kwargs(data, layer_factory)
    (shape,) = draw_shapes(data, layer_factory, kwargs)
    x = draw_inputs(data, [shape])
    layer = layer_factory(**kwargs)
    layer(x)
    scramble(layer, draw_seed(data, "weight seed"))

    params = [np.asarray(w, dtype="float64") for w in layer.trainable_weights]
    kernels = [w for w in params if w.ndim == 2]
    biases = [w for w in params if w.ndim == 1]
    assert len(kernels) == 1 and len(biases) <= 1 and len(params) == len(kernels) + len(biases), (
        f"expected a kernel and at most a bias, got weights of shapes {[w.shape for w in params]}"
    )
    kernel, bias = kernels[0], (biases[0] if biases else np.zeros(kernels[0].shape[1]))
    activation = DENSE_ACTIVATION.get(layer_factory.name, kwargs.get("activation"))

    x64 = x.astype("float64")
    expected = ACTIVATIONS[activation](x64 @ kernel + bias)
    # Every activation used is 1-Lipschitz, so the pre-activation error bound carries over.
    scale = np.abs(x64) @ np.abs(kernel) + np.abs(bias)
    tolerance = RTOL * (scale + np.abs(expected)) + ATOL
    what = f"output against {activation or 'identity'}(x @ w + b)"
    assert_within(output(layer, x), expected, tolerance, what)


# -- Lambda layers ------------------------------------------------------------------------------


def property_lambda_elementwise(layer_factory, data):
    """The layer has no weights and equals its function elementwise, exactly: |x| for
    ``lambda_abs``, max(threshold, x) for ``lambda_my_relu`` (max(0, x) by default)."""
    kwargs = draw_kwargs(data, layer_factory)
    style = draw_style(data, layer_factory)
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=4, max_side=5), label="shape")
    x = draw_inputs(data, [shape])
    layer = layer_factory([shape], style, **kwargs)
    result = outputs(layer, x)[0]
    assert not layer.weights, f"{len(layer.weights)} weights in a weightless Lambda layer"
    assert layer.count_params() == 0

    if layer_factory.name == "lambda_abs":
        expected, what = np.abs(x), "|x|"
    else:
        threshold = np.float32(kwargs["threshold"])
        expected, what = np.maximum(threshold, x), f"max({threshold}, x)"
    assert result.dtype == x.dtype, f"output dtype {result.dtype}, input {x.dtype}"
    np.testing.assert_array_equal(result, expected, err_msg=f"output is not {what}")


# -- build ------------------------------------------------------------------------------------

CALL_MODES = ("plain", "inference", "training", "symbolic", "tf.function")


def property_build_runs_once(layer_factory, data):
    """``build`` runs exactly once whatever the sequence of calls (eager, training or not,
    symbolic, inside tf.function) and batch sizes, and no weights appear after it."""
    kwargs = draw_kwargs(data, layer_factory)
    (shape,) = draw_shapes(data, layer_factory, kwargs)
    calls = data.draw(
        st.lists(
            st.tuples(st.integers(1, 5), st.sampled_from(CALL_MODES)), min_size=2, max_size=4
        ),
        label="calls (batch size, mode)",
    )
    builds = []

    class Counting(layer_factory.cls):
        def build(self, input_shape):
            builds.append(tuple(input_shape))
            super().build(input_shape)

    layer = Counting(**kwargs)
    rng = np.random.default_rng(0)
    weight_counts = []
    for batch, mode in calls:
        x = rng.standard_normal((batch,) + tuple(shape[1:])).astype("float32")
        if mode == "plain":
            layer(x)
        elif mode == "inference":
            layer(x, training=False)
        elif mode == "training":
            layer(x, training=True)
        elif mode == "symbolic":
            layer(keras_input(x.shape))
        else:
            tf.function(lambda t: layer(t, training=False))(tf.constant(x))
        weight_counts.append(len(layer.weights))
    assert len(builds) == 1, f"build ran {len(builds)} times, with input shapes {builds}"
    assert len(set(weight_counts)) == 1, f"weight count changed over the calls: {weight_counts}"


# -- saving -----------------------------------------------------------------------------------


def property_round_trips(layer_factory, data):
    """Saving to ``.keras`` and loading, and saving to ``.weights.h5`` and loading into a
    fresh instance, give bit-identical weights and outputs."""
    kwargs = draw_kwargs(data, layer_factory)
    style = draw_style(data, layer_factory)
    shapes = draw_shapes(data, layer_factory, kwargs)
    x = draw_inputs(data, shapes, value_range(layer_factory))

    def built():
        obj = layer_factory(shapes, style, **kwargs)
        obj(x, training=False)
        return ensure_model(obj, shapes)

    model = built()
    scramble(model, draw_seed(data, "weight seed"))
    weights, expected = weight_values(model), outputs(model, x)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model" + compat.MODEL_SUFFIX)
        compat.save_model(model, path)
        loaded = compat.load_model(path)
        assert_bit_identical(weight_values(loaded), weights, "weights after the .keras round trip")
        assert_bit_identical(outputs(loaded, x), expected, "outputs after the .keras round trip")

        path = os.path.join(directory, "model" + compat.WEIGHTS_SUFFIX)
        compat.save_weights(model, path)
        fresh = built()
        compat.load_weights(fresh, path)
        what = "after the .weights.h5 round trip"
        assert_bit_identical(weight_values(fresh), weights, f"weights {what}")
        assert_bit_identical(outputs(fresh, x), expected, f"outputs {what}")


# -- dropout and batch normalisation ------------------------------------------------------------

#: Elements in the probe that measures the kept fraction, and the band allowed around the
#: expected count, in binomial standard deviations (a false alarm about once in 10**6).
PROBE_SIZE = 4096
SIGMAS = 5.0


def _seed_everything(data):
    # Dropout masks then follow the example, so a failure replays identically.
    keras.utils.set_random_seed(data.draw(st.integers(0, 2**31 - 1), label="random seed"))


def _draw_seeded_single_input(layer_factory, data):
    """Seed from the example, then draw kwargs, a style and one input; build the layer."""
    _seed_everything(data)
    kwargs = draw_kwargs(data, layer_factory)
    style = draw_style(data, layer_factory)
    (shape,) = draw_shapes(data, layer_factory, kwargs)
    x = draw_inputs(data, [shape])
    return layer_factory([shape], style, **kwargs), kwargs, x


def _assert_zero_or_scaled(result, expected, tolerance, rate, what):
    """Each element 0 (dropped) or ``expected`` (kept, already divided by 1 - rate); at
    rate 0 nothing may be dropped."""
    close = np.abs(result - expected) <= tolerance
    bad = ~close & (result != 0) if rate > 0 else ~close
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} training outputs are neither 0 nor "
            f"x / (1 - rate) at rate {rate:.3g}; at {index} got {result[index]:.9g}, "
            f"expected 0 or {expected[index]:.9g}"
        )


def property_dropout(layer_factory, data):
    """Inference (``training`` false or not given) returns the input unchanged; in training
    every element is 0 or x / (1 - rate), and the kept fraction is consistent with rate."""
    layer, kwargs, x = _draw_seeded_single_input(layer_factory, data)
    rate = float(kwargs["rate"])

    for label, result in (("plain", layer(x)), ("training=False", layer(x, training=False))):
        np.testing.assert_array_equal(
            np.asarray(result), x, err_msg=f"inference ({label}) changed the input"
        )

    scaled = x.astype("float64") / (1.0 - rate)
    trained = output(layer, x, training=True)
    _assert_zero_or_scaled(trained, scaled, 1e-6 * np.abs(scaled), rate, "drawn input")

    rows = math.ceil(PROBE_SIZE / math.prod(x.shape[1:]))
    probe = np.ones((rows,) + tuple(x.shape[1:]), dtype="float32")
    trained = output(layer, probe, training=True)
    scaled = probe / (1.0 - rate)
    _assert_zero_or_scaled(trained, scaled, 1e-6 * scaled, rate, "probe of ones")
    size, kept = trained.size, int(np.count_nonzero(trained))
    keep = 1.0 - rate
    band = SIGMAS * math.sqrt(size * keep * rate) + 1.0
    assert abs(kept - size * keep) <= band, (
        f"kept {kept} of {size} elements ({kept / size:.3f}) at rate {rate:.3f}: expected "
        f"{keep:.3f} (kept fraction inconsistent with the rate)"
    )


def _batch_norm_formula(x, mean, variance, gamma, beta, epsilon):
    """gamma * (x - mean) / sqrt(variance + epsilon) + beta, and its float32 error bound."""
    scale = gamma / np.sqrt(variance + epsilon)
    expected = (x - mean) * scale + beta
    column_max = np.max(np.abs(x), axis=0)
    bound = RTOL * (np.abs(scale) * (np.abs(x) + column_max + np.abs(mean)) + np.abs(beta))
    return expected, bound + ATOL


def property_batch_norm(layer_factory, data):
    """Batch normalisation then dropout: inference uses the moving statistics by formula
    (and leaves them alone); training uses the batch statistics (every output 0 or that
    divided by 1 - rate) and moves the moving statistics towards them by ``momentum``."""
    block, kwargs, x = _draw_seeded_single_input(layer_factory, data)
    block(x, training=False)
    scramble(block, draw_seed(data, "weight seed"))
    bn = find_sublayer(block, keras.layers.BatchNormalization)
    gamma, beta, moving_mean, moving_variance = (
        np.asarray(w, dtype="float64")
        for w in (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance)
    )
    x64 = x.astype("float64")

    expected, tolerance = _batch_norm_formula(
        x64, moving_mean, moving_variance, gamma, beta, bn.epsilon
    )
    for label, result in (("plain", block(x)), ("training=False", block(x, training=False))):
        assert_within(
            np.asarray(result), expected, tolerance,
            f"inference ({label}) against the moving-statistics formula",
        )
    for variable, before in ((bn.moving_mean, moving_mean), (bn.moving_variance, moving_variance)):
        np.testing.assert_array_equal(
            np.asarray(variable), before.astype("float32"),
            err_msg="an inference call changed the moving statistics",
        )

    mean, variance = x64.mean(axis=0), x64.var(axis=0)
    expected, tolerance = _batch_norm_formula(x64, mean, variance, gamma, beta, bn.epsilon)
    rate = float(kwargs["rate"])
    trained = output(block, x, training=True)
    _assert_zero_or_scaled(
        trained, expected / (1.0 - rate), tolerance / (1.0 - rate), rate,
        "training against the batch-statistics formula",
    )
    momentum = bn.momentum
    for name, old, batch_value in (
        ("moving mean", moving_mean, mean),
        ("moving variance", moving_variance, variance),
    ):
        new = np.asarray(getattr(bn, name.replace(" ", "_")), dtype="float64")
        assert_within(
            new, old * momentum + batch_value * (1.0 - momentum),
            RTOL * (np.abs(old) + np.abs(batch_value) + bn.epsilon),
            f"{name} after a training call",
        )


# -- batch independence ----------------------------------------------------------------------


def _rows(inputs, start, stop):
    if isinstance(inputs, list):
        return [array[start:stop] for array in inputs]
    return inputs[start:stop]


def property_batch_independent(layer_factory, data):
    """In inference each sample's output is the same whether computed in a batch or alone."""
    kwargs = draw_kwargs(data, layer_factory)
    style = draw_style(data, layer_factory)
    shapes = draw_shapes(data, layer_factory, kwargs, batch_size=st.integers(2, 5))
    x = draw_inputs(data, shapes, value_range(layer_factory))
    obj = layer_factory(shapes, style, **kwargs)
    obj(x, training=False)
    scramble(obj, draw_seed(data, "weight seed"))

    whole = outputs(obj, x)
    for row in range(shapes[0][0]):
        alone = outputs(obj, _rows(x, row, row + 1))
        for index, (batched, single) in enumerate(zip(whole, alone)):
            batched = batched[row : row + 1].astype("float64")
            scale = float(np.max(np.abs(whole[index]))) if whole[index].size else 0.0
            assert_within(
                single, batched, RTOL_REORDERED * scale + ATOL,
                f"output {index} of sample {row} alone against the same sample in its batch",
            )


# -- API styles ------------------------------------------------------------------------------


def property_styles_agree(layer_factory, data):
    """For drawn hyperparameters, every API style of the architecture has the same weight
    layout and, after weight transfer from the first style, the same outputs."""
    kwargs = draw_kwargs(data, layer_factory)
    shapes = draw_shapes(data, layer_factory, kwargs)
    x = draw_inputs(data, shapes, value_range(layer_factory))
    forms = {}
    for style in layer_factory.styles:
        forms[style] = layer_factory(shapes, style, **kwargs)
        forms[style](x, training=False)
    first_style, *other_styles = layer_factory.styles
    first = forms[first_style]
    scramble(first, draw_seed(data, "weight seed"))
    expected = outputs(first, x)
    for style in other_styles:
        try:
            copy_weights(first, forms[style])
        except ValueError as exc:
            raise AssertionError(
                f"{style} form cannot take the {first_style} weights: {exc}"
            ) from exc
        assert forms[style].count_params() == first.count_params()
        seen = outputs(forms[style], x)
        assert len(seen) == len(expected), (
            f"{style}: {len(seen)} outputs, {first_style}: {len(expected)}"
        )
        for index, (a, b) in enumerate(zip(seen, expected)):
            scale = float(np.max(np.abs(b))) if b.size else 0.0
            assert_within(
                a, b, RTOL_REORDERED * scale + ATOL,
                f"{style} output {index} against {first_style} with the same weights",
            )


# -- shared layers ---------------------------------------------------------------------------


def property_shared_layer(layer_factory, data):
    """The shared layer gives bit-identical outputs for equal inputs."""
    kwargs = draw_kwargs(data, layer_factory)
    style = draw_style(data, layer_factory)
    shapes = draw_shapes(data, layer_factory, kwargs)
    a = draw_inputs(data, shapes[:1], label="a")
    model = layer_factory(shapes, style, **kwargs)
    model([a, a], training=False)
    scramble(model, draw_seed(data, "weight seed"))
    first, second = outputs(model, [a, a])
    assert_bit_identical([second], [first], "second output against the first for equal inputs")
