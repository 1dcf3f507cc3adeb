"""The behaviour the notes claim for each reference actually holds."""

import shutil

import numpy as np
import pytest
import tensorflow as tf

import reference_models
from keras_compat import keras
from conformance.tensors import max_abs_diff
from reference_models.models.linear_regression import XS, YS

RESNET_DIGITS_MIN_ACCURACY = 0.95  # measured 0.99 for both styles on TF 2.21 (15 epochs)


@pytest.mark.parametrize("style", reference_models.get("linear_regression").styles)
def test_linear_regression_learns_two_x_minus_one(style):
    ref = reference_models.get("linear_regression")
    model = ref.build(style)
    model.compile(jit_compile=False, **ref.compile_kwargs)
    # The notes' fit(xs, ys, epochs=500) makes 500 full-batch SGD steps on six points; one
    # epoch over the batch repeated 500 times, unshuffled, makes the same 500 steps.
    model.fit(np.tile(XS, (500, 1)), np.tile(YS, (500, 1)), batch_size=len(XS), shuffle=False, verbose=0)
    prediction = float(model.predict(np.array([[10.0]], dtype="float32"), verbose=0)[0, 0])
    assert abs(prediction - 19.0) < 0.1, f"predicted {prediction} at x = 10, expected 19"


@pytest.mark.parametrize("name", ["lambda_abs", "lambda_my_relu"])
@pytest.mark.parametrize("style", reference_models.API_STYLES)
def test_lambda_layers_have_no_weights_and_apply_their_function(name, style):
    ref = reference_models.get(name)
    obj = ref.build(style)
    x = ref.example_inputs(seed=2) * 3
    expected = np.abs(x) if name == "lambda_abs" else np.maximum(0.0, x)
    assert obj.weights == [] and obj.count_params() == 0
    np.testing.assert_array_equal(np.asarray(obj(x)), expected)


def test_my_relu_threshold_variant_clamps_below_the_threshold():
    layer = reference_models.get("lambda_my_relu").build(threshold=0.5)
    x = np.array([[-1.0, 0.2, 0.5, 0.7]], dtype="float32")
    expected = np.array([[0.5, 0.5, 0.5, 0.7]], dtype="float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), expected)


@pytest.mark.parametrize("name", ["cnn_residual", "dnn_residual"])
def test_residual_output_is_branch_plus_input(name):
    ref = reference_models.get(name)
    block = ref.build()
    x = ref.example_inputs(seed=3)
    branch = np.asarray(block.residual_branch(x))
    assert np.abs(branch).max() > 0, "the residual branch should not be trivially zero"
    np.testing.assert_allclose(np.asarray(block(x)), branch + x, rtol=1e-6, atol=1e-6)


def test_identity_block_is_relu_of_branch_plus_input():
    ref = reference_models.get("identity_block")
    block = ref.build()
    x = ref.example_inputs(seed=3)
    branch = np.asarray(block.residual_branch(x, training=False))
    np.testing.assert_allclose(
        np.asarray(block(x, training=False)), np.maximum(branch + x, 0.0), rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("style", reference_models.get("dropout").styles)
def test_dropout_drops_only_in_training(style):
    ref = reference_models.get("dropout")
    layer = ref.build(style, rate=0.5)
    x = np.ones((64, 32), dtype="float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), x)  # plain call is inference
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    trained = np.asarray(layer(x, training=True))
    assert set(np.unique(trained)) <= {0.0, 2.0}
    kept = float(np.mean(trained > 0))
    assert 0.4 < kept < 0.6, f"kept fraction {kept} for rate 0.5"


@pytest.mark.parametrize("style", reference_models.get("batch_norm_dropout_block").styles)
def test_batch_norm_uses_batch_statistics_in_training_and_moving_ones_in_inference(style):
    ref = reference_models.get("batch_norm_dropout_block")
    block = ref.build(style, rate=0.0)
    x = (np.random.default_rng(0).standard_normal((32, 16)) * 4 + 3).astype("float32")
    inference = np.asarray(block(x, training=False))
    # Fresh moving statistics are mean 0, variance 1: inference is x / sqrt(1 + eps).
    np.testing.assert_allclose(inference, x / np.sqrt(1 + 1e-3), rtol=1e-5)
    trained = np.asarray(block(x, training=True))
    np.testing.assert_allclose(trained.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(trained.std(axis=0), 1.0, atol=1e-2)
    moving_mean = [w for w in block.non_trainable_weights if "mean" in w.name][0]
    assert np.abs(np.asarray(moving_mean)).max() > 0, "a training call updates moving stats"


@pytest.mark.parametrize("name", reference_models.names(kind="layer"))
def test_build_runs_once_over_repeated_calls_and_batch_sizes(name):
    ref = reference_models.get(name)
    calls = []

    class Counting(ref.cls):
        def build(self, input_shape):
            calls.append(input_shape)
            super().build(input_shape)

    layer = Counting(**ref.kwargs())
    for batch in (1, 3, 5, 3):
        layer(ref.example_inputs(batch_size=batch))
    assert len(calls) == 1, f"build ran {len(calls)} times"


@pytest.mark.parametrize("style", reference_models.get("shared_dense_two_output").styles)
def test_shared_layer_is_one_set_of_weights(style):
    ref = reference_models.get("shared_dense_two_output")
    model = ref.build(style)
    assert len(model.weights) == 2  # one kernel, one bias, used by both branches
    x = ref.example_inputs(seed=1)[0]
    first, second = model([x, x])
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))
    kernel = model.trainable_weights[0]
    kernel.assign(kernel * 2.0)
    after_first, after_second = model([x, x])
    assert max_abs_diff(after_first, first) > 0
    np.testing.assert_array_equal(np.asarray(after_first), np.asarray(after_second))


def test_my_residual_block2_is_shared_by_its_three_repeats():
    model = reference_models.get("my_residual").build()
    dnn_weights = model.block2.weights
    assert len(dnn_weights) == 4  # two Dense layers, used three times
    assert model.count_params() == sum(int(np.prod(w.shape)) for w in model.weights)


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    return train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target
    )


@pytest.mark.parametrize(
    "style", ["subclassed", pytest.param("functional", marks=pytest.mark.slow)]
)
def test_resnet_learns_the_digits_data_set(style):
    x_train, x_test, y_train, y_test = _digits()
    ref = reference_models.get("resnet")
    model = ref.build(style)
    model.compile(jit_compile=False, **ref.compile_kwargs)
    model.fit(x_train, y_train, epochs=15, batch_size=32, verbose=0)
    accuracy = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    assert accuracy >= RESNET_DIGITS_MIN_ACCURACY, f"held-out accuracy {accuracy:.3f}"


def test_plot_model_draws_the_architecture(tmp_path):
    try:
        import pydot  # noqa: F401
    except ImportError:
        pytest.skip("plot_model needs pydot, which is not installed (pip install pydot)")
    if shutil.which("dot") is None:
        pytest.skip("plot_model needs Graphviz's `dot`, which is not on PATH")
    model = reference_models.get("wide_and_deep").build("functional")
    keras.utils.plot_model(model, to_file=str(tmp_path / "model.png"), show_shapes=True)
    assert (tmp_path / "model.png").stat().st_size > 0
    assert tf.io.gfile.exists(str(tmp_path / "model.png"))
