"""Pin what the notes' own code does on the running Keras version.

The examples in ``examples/notes_verbatim`` are the notes' code, kept as written. These
tests record how each one fails, or silently misbehaves, so that a TensorFlow upgrade
that changes the behaviour is noticed and ``docs/seed-errata.md`` can be updated. Each
test names the errata ids it pins. Only ``compat.KERAS_3`` distinguishes the versions.
"""

import warnings

import h5py
import numpy as np
import pytest
import tensorflow as tf

import keras_compat as compat
from examples.notes_verbatim import (
    custom_dense,
    lambda_model,
    my_custom_layer,
    my_model,
    residual,
    resnet,
    shared_layer,
    simple_dense,
    snippets,
    wide_and_deep,
)

KERAS_3 = compat.KERAS_3

XS = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype="float32").reshape(-1, 1)
YS = 2.0 * XS - 1.0


def _ones(*shape):
    return np.ones(shape, dtype="float32")


def _sequential(input_shape, layer):
    return tf.keras.Sequential([tf.keras.Input(shape=input_shape), layer])


def _h5_datasets(path):
    found = []
    with h5py.File(path, "r") as handle:
        handle.visititems(
            lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None
        )
    return found


# --- raw-tf-variable, no-kwargs, not-registered: SimpleDense (003) -----------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: simple_dense.SimpleDense(4),
        lambda: simple_dense.SimpleDenseWithActivation(4, "relu"),
    ],
)
def test_raw_tf_variables_are_weights_only_on_keras_2(make):  # raw-tf-variable
    layer = make()
    layer(_ones(2, 3))
    expected = 0 if KERAS_3 else 2
    assert len(layer.weights) == expected
    assert len(layer.trainable_weights) == expected


def test_raw_tf_variable_layer_does_not_train_on_keras_3():  # raw-tf-variable
    tf.random.set_seed(0)
    model = simple_dense.build_linear_regression()
    before = model.predict(np.array([[10.0]]), verbose=0)
    history = model.fit(XS, YS, epochs=5, verbose=0)
    after = model.predict(np.array([[10.0]]), verbose=0)
    if KERAS_3:
        assert model.count_params() == 0
        np.testing.assert_allclose(after, before)
        assert history.history["loss"][0] == history.history["loss"][-1]
    else:
        assert model.count_params() == 2
        assert not np.allclose(after, before)
        assert history.history["loss"][-1] < history.history["loss"][0]


def test_raw_tf_variable_layer_saves_no_variables_on_keras_3(tmp_path):  # raw-tf-variable
    model = _sequential((3,), simple_dense.SimpleDense(4))
    path = tmp_path / ("simple" + compat.WEIGHTS_SUFFIX)
    model.save_weights(str(path))
    assert len(_h5_datasets(path)) == (0 if KERAS_3 else 2)


def test_simple_dense_reload_with_custom_objects(tmp_path):  # no-kwargs
    model = _sequential((3,), simple_dense.SimpleDense(4))
    expected = model(_ones(2, 3))
    path = tmp_path / "simple.keras"
    compat.save_model(model, path)
    custom = {"SimpleDense": simple_dense.SimpleDense}
    if KERAS_3:
        with pytest.raises(TypeError, match="unexpected keyword argument 'trainable'"):
            compat.load_model(path, custom_objects=custom)
    else:
        reloaded = compat.load_model(path, custom_objects=custom)
        np.testing.assert_allclose(reloaded(_ones(2, 3)), expected)


# --- custom-dense-syntax, no-kwargs, not-registered, add-weight-no-name: CustomDense (001) --


def test_custom_dense_import_lines_do_not_compile():  # custom-dense-syntax
    with pytest.raises(SyntaxError):
        compile(custom_dense.NOTES_IMPORT_LINES, "<notes>", "exec")


def test_custom_dense_takes_no_base_layer_kwargs():  # custom-dense-syntax, no-kwargs
    with pytest.raises(TypeError, match="unexpected keyword argument 'name'"):
        custom_dense.CustomDense(4, name="dense")
    model = custom_dense.build_custom_dense_model()
    assert model(_ones(2, 20)).shape == (2, 10)
    assert model.count_params() == 20 * 32 + 32 + 32 * 10 + 10


def test_unregistered_layer_does_not_load_without_custom_objects(tmp_path):  # not-registered
    model = _sequential((3,), custom_dense.CustomDense(4))
    path = tmp_path / "custom_dense.keras"
    compat.save_model(model, path)
    if KERAS_3:
        with pytest.raises(TypeError, match="Could not locate class 'CustomDense'"):
            compat.load_model(path)
        with pytest.raises(TypeError, match="unexpected keyword argument 'trainable'"):
            compat.load_model(path, custom_objects={"CustomDense": custom_dense.CustomDense})
    else:
        with pytest.raises(TypeError, match="must be an instance of class Layer"):
            compat.load_model(path)
        compat.load_model(path, custom_objects={"CustomDense": custom_dense.CustomDense})


def test_unnamed_add_weight_breaks_legacy_weight_formats_on_keras_2(tmp_path):  # add-weight-no-name
    model = custom_dense.build_custom_dense_model()
    model(_ones(2, 20))
    if KERAS_3:
        with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
            model.save_weights(str(tmp_path / "weights.h5"))
    else:
        with pytest.raises(ValueError, match="name already exists"):
            model.save_weights(str(tmp_path / "weights.h5"))
        with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'replace'"):
            model.save_weights(str(tmp_path / "checkpoint"))
    model.save_weights(str(tmp_path / ("weights" + compat.WEIGHTS_SUFFIX)))  # fine on both


# --- add-weight-positional-name, input-shape-index, no-kwargs: MyCustomLayer (004) --------


def test_add_weight_with_positional_name():  # add-weight-positional-name
    layer = my_custom_layer.MyCustomLayer()
    if KERAS_3:
        with pytest.raises(ValueError, match="`name` must be passed as a keyword argument"):
            layer(_ones(4, 64))
    else:
        assert layer(_ones(4, 64)).shape == (4, 128)
        assert tuple(layer.kernel.shape) == (64, 128)


def test_input_shape_index_breaks_rank_3_inputs():  # input-shape-index
    layer = my_custom_layer.MyCustomLayer()
    if KERAS_3:  # add_weight fails first
        with pytest.raises(ValueError, match="`name` must be passed as a keyword argument"):
            layer(_ones(4, 5, 7))
    else:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Matrix size-incompatible"):
            layer(_ones(4, 5, 7))
        assert tuple(layer.kernel.shape) == (5, 128)


def test_my_custom_layer_takes_no_kwargs():  # no-kwargs
    with pytest.raises(TypeError, match="unexpected keyword argument 'name'"):
        my_custom_layer.MyCustomLayer(name="projection")


# --- lambda-python-lambda, keras-backend-maximum: Lambda models (003) ---------------------


def test_python_lambda_is_refused_in_safe_mode(tmp_path):  # lambda-python-lambda
    model = lambda_model.build_lambda_abs_model()
    x = np.random.default_rng(0).standard_normal((2, 28, 28)).astype("float32")
    expected = model(x)
    path = tmp_path / "lambda.keras"
    compat.save_model(model, path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        compat.load_model(path)
    unsafe = compat.load_model(path, safe_mode=False)
    if KERAS_3:  # the lambda's globals are lost: ``tf`` is undefined
        with pytest.raises(NameError, match="name 'tf' is not defined"):
            unsafe(x)
    else:
        np.testing.assert_allclose(unsafe(x), expected, rtol=1e-5)


def test_named_function_in_lambda(tmp_path):  # lambda-python-lambda, keras-backend-maximum
    model = lambda_model.build_my_relu_model()
    x = np.random.default_rng(1).standard_normal((2, 28, 28)).astype("float32")
    expected = model(x)
    path = tmp_path / "my_relu.keras"
    compat.save_model(model, path)
    if KERAS_3:
        for safe_mode in (True, False):
            with pytest.raises(TypeError, match="Could not locate function 'my_relu'"):
                compat.load_model(path, safe_mode=safe_mode)
    else:  # saved as bytecode, like a Python lambda
        with pytest.raises(ValueError, match="safe_mode=False"):
            compat.load_model(path)
        reloaded = compat.load_model(path, safe_mode=False)
        np.testing.assert_allclose(reloaded(x), expected, rtol=1e-5)


def test_keras_backend_maximum():  # keras-backend-maximum
    # The tf.keras alias still has it (Keras 3: the legacy backend); Keras 3 itself does not.
    values = lambda_model.my_relu_question_9(tf.constant([-1.0, 0.2, 3.0]))
    np.testing.assert_allclose(values, [0.5, 0.5, 3.0])
    assert hasattr(compat.keras.backend, "maximum") is (not KERAS_3)


# --- cnn-residual-padding, my-residual-shapes, repeat-shares-weights (000) ----------------


def test_unpadded_cnn_residual_cannot_add():  # cnn-residual-padding
    shapes = r"Incompatible shapes: \[2,8,8,4\] vs. \[2,4,4,4\]"
    with pytest.raises(tf.errors.InvalidArgumentError, match=shapes):
        residual.CNNResidual(2, 4)(_ones(2, 8, 8, 4))


def test_dnn_residual_works_when_widths_match():
    assert residual.DNNResidual(2, 8)(_ones(3, 8)).shape == (3, 8)


def test_my_residual_cannot_run():  # my-residual-shapes
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[2,8,8,30\] vs. \[2,4,4,32\]"):
        residual.MyResidual()(_ones(2, 8, 8, 1))


def test_repeated_block_shares_its_weights():  # repeat-shares-weights
    def build(blocks):
        inputs = tf.keras.Input(shape=(8,))
        x = inputs
        for block in blocks:
            x = block(x)
        return tf.keras.Model(inputs, x)

    block = residual.DNNResidual(2, 8)
    shared = build([block, block, block])  # what MyResidual.call does with block2
    separate = build([residual.DNNResidual(2, 8) for _ in range(3)])
    per_block = 2 * (8 * 8 + 8)
    assert shared.count_params() == per_block
    assert len(shared.trainable_weights) == 4
    assert separate.count_params() == 3 * per_block


# --- model-as-layer, no-kwargs, no-get-config, not-registered: ResNet (000) ---------------


def test_identity_block_is_a_model():  # model-as-layer, no-get-config
    block = resnet.IdentityBlock(4, 3)
    assert isinstance(block, tf.keras.Model)
    assert block(_ones(1, 8, 8, 4)).shape == (1, 8, 8, 4)
    if KERAS_3:
        with pytest.raises(NotImplementedError, match="must override `get_config\\(\\)`"):
            block.get_config()
    else:
        config = block.get_config()
        assert (config["filters"], config["kernel_size"]) == (4, 3)


def test_resnet_save(tmp_path):  # no-get-config, not-registered
    model = resnet.ResNet(3)
    x = _ones(1, 8, 8, 1)
    expected = model(x)
    path = tmp_path / "resnet.keras"
    if KERAS_3:
        with pytest.raises(NotImplementedError, match="must override `get_config\\(\\)`"):
            compat.save_model(model, path)
    else:  # Keras 2 records and re-imports the defining module
        compat.save_model(model, path)
        reloaded = compat.load_model(path)
        assert type(reloaded) is resnet.ResNet
        np.testing.assert_allclose(reloaded(x), expected, rtol=1e-5)


# --- no-get-config, not-registered, multi-output-metrics: WideAndDeepModel (000) ----------


def test_wide_and_deep_reloads_with_default_args_on_keras_3(tmp_path):  # no-get-config
    model = wide_and_deep.WideAndDeepModel(activation="tanh")
    x = [np.full((2, 3), 0.5, "float32"), np.linspace(-1, 1, 8, dtype="float32").reshape(2, 4)]
    expected = model(x)[0]
    path = tmp_path / "wide_and_deep.keras"
    compat.save_model(model, path)
    custom = {"WideAndDeepModel": wide_and_deep.WideAndDeepModel}
    reloaded = compat.load_model(path, custom_objects=custom)
    activation = reloaded.hidden1.activation.__name__
    if KERAS_3:
        assert activation == "relu"
        assert not np.allclose(reloaded(x)[0], expected)
    else:
        assert activation == "tanh"
        np.testing.assert_allclose(reloaded(x)[0], expected, rtol=1e-5)


def test_wide_and_deep_reload_fails_when_units_differ_on_keras_3(tmp_path):  # no-get-config
    model = wide_and_deep.WideAndDeepModel(units=5)
    model([_ones(2, 3), _ones(2, 4)])
    path = tmp_path / "wide_and_deep.keras"
    compat.save_model(model, path)
    custom = {"WideAndDeepModel": wide_and_deep.WideAndDeepModel}
    if KERAS_3:
        with pytest.raises(ValueError, match="could not be loaded"):
            compat.load_model(path, custom_objects=custom)
    else:
        assert compat.load_model(path, custom_objects=custom).hidden1.units == 5


def _regression_data(rng):
    x = [rng.standard_normal((16, width)).astype("float32") for width in (3, 4)]
    y = [rng.standard_normal((16, 1)).astype("float32") for _ in range(2)]
    return x, y


def test_single_metric_list_on_two_outputs():  # multi-output-metrics
    model = wide_and_deep.WideAndDeepModel()
    model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
    x, y = _regression_data(np.random.default_rng(0))
    if KERAS_3:
        with pytest.raises(ValueError, match="tuple arity mismatch"):
            model.fit(x, y, epochs=1, verbose=0)
    else:
        history = model.fit(x, y, epochs=1, verbose=0)
        assert {"output_1_accuracy", "output_2_accuracy"} <= set(history.history)


# --- shared-layer-loss, multi-output-metrics: shared-layer model (004) --------------------


def test_shared_layer_model_as_compiled_in_the_notes():  # shared-layer-loss, multi-output-metrics
    model = shared_layer.build_shared_layer_model()
    assert model.count_params() == 784 * 64 + 64
    rng = np.random.default_rng(0)
    x = [rng.standard_normal((16, 784)).astype("float32") for _ in range(2)]
    y = [np.eye(64, dtype="float32")[rng.integers(0, 64, 16)] for _ in range(2)]
    if KERAS_3:
        with pytest.raises(ValueError, match="tuple arity mismatch"):
            model.fit(x, y, epochs=1, verbose=0)
    else:
        history = model.fit(x, y, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])


def test_categorical_crossentropy_on_relu_outputs():  # shared-layer-loss
    loss = tf.keras.losses.get("categorical_crossentropy")
    target = tf.constant([[0.0, 1.0, 0.0]])
    # ReLU outputs are rescaled to sum to 1, and an all-zero row gives NaN.
    np.testing.assert_allclose(
        loss(target, tf.constant([[0.0, 3.0, 1.0]])),
        loss(target, tf.constant([[0.0, 0.75, 0.25]])),
        rtol=1e-6,
    )
    assert np.isnan(loss(target, tf.constant([[0.0, 0.0, 0.0]])).numpy()).all()


# --- two-mymodels, mymodel-no-call (001, 002) ---------------------------------------------


def test_the_two_my_models_differ():  # two-mymodels
    x = _ones(2, 784)
    probabilities = my_model.MyModel()(x)
    np.testing.assert_allclose(tf.reduce_sum(probabilities, axis=1), [1.0, 1.0], rtol=1e-5)
    logits = my_model.MyModelLogits()(x)
    assert logits.shape == (2, 10)
    with pytest.raises(TypeError, match="positional argument"):
        my_model.MyModel(5)


def test_my_model_with_num_classes_has_no_call():  # mymodel-no-call
    model = my_model.MyModelNumClasses(5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NotImplementedError):
            model(_ones(2, 784))


def test_my_model_does_not_reload_without_registration(tmp_path):  # not-registered, no-kwargs
    model = my_model.MyModel()
    model(_ones(1, 784))
    path = tmp_path / "my_model.keras"
    compat.save_model(model, path)
    if KERAS_3:
        with pytest.raises(TypeError, match="Could not locate class 'MyModel'"):
            compat.load_model(path)
        with pytest.raises(TypeError, match="unexpected keyword argument 'trainable'"):
            compat.load_model(path, custom_objects={"MyModel": my_model.MyModel})
    else:  # found by re-importing examples.notes_verbatim.my_model
        assert type(compat.load_model(path)) is my_model.MyModel


# --- snippets: input-shape-kwarg, functional-snippet-cut, multi-input-snippet-cut, ... ----


def test_input_shape_kwarg():  # input-shape-kwarg
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = snippets.run_snippet(snippets.SEQUENTIAL)["model"]
    assert model.built and model.count_params() == 784 * 64 + 64 + 64 * 10 + 10
    warned = any("input_shape" in str(w.message) for w in caught)
    assert warned is KERAS_3


def test_functional_snippet_is_cut_off():  # functional-snippet-cut
    with pytest.raises(SyntaxError, match="never closed"):
        snippets.run_snippet(snippets.FUNCTIONAL)


def test_functional_snippet_loss_needs_one_hot_labels():  # functional-snippet-cut
    model = snippets.run_snippet(snippets.FUNCTIONAL + "metrics=['accuracy'])\n")["model"]
    labels = np.arange(8) % 10  # integer labels, as the Sequential example's sparse loss takes
    match = "must have the same rank" if KERAS_3 else r"Shapes \(None, 1\) and \(None, 10\)"
    with pytest.raises(ValueError, match=match):
        model.fit(_ones(8, 784), labels, epochs=1, verbose=0)


def test_multi_input_snippet_names():  # multi-input-snippet-cut
    with pytest.raises(NameError, match="'Input'"):
        snippets.run_snippet(snippets.MULTI_INPUT)
    layers = tf.keras.layers
    imports = {"Input": layers.Input, "Dense": layers.Dense, "Model": tf.keras.Model}
    with pytest.raises(NameError, match="'outputs'"):
        snippets.run_snippet(snippets.MULTI_INPUT, imports)
    with pytest.raises(NameError, match="'value'"):
        snippets.run_snippet(snippets.MULTI_INPUT, dict(imports, outputs=None))


def test_training_snippet_is_a_bare_method():  # training-snippet-only
    namespace = snippets.run_snippet(snippets.TRAINING_CALL)
    assert [name for name in namespace if not name.startswith("__")] == ["call"]
    with pytest.raises(AttributeError, match="batch_norm"):
        namespace["call"](None, _ones(2, 3))


# --- average-pooling-pool-size, save-weights-suffix, save-model-suffix -------------------


def test_average_pooling_without_pool_size():  # average-pooling-pool-size
    if KERAS_3:
        with pytest.raises(TypeError, match="pool_size"):
            tf.keras.layers.AveragePooling2D()
    else:
        assert tf.keras.layers.AveragePooling2D().pool_size == (2, 2)
    assert tf.keras.layers.MaxPooling2D().pool_size == (2, 2)


@pytest.mark.parametrize("name", ["weights", "weights.h5"])
def test_save_weights_file_name(tmp_path, name):  # save-weights-suffix
    model = _sequential((3,), tf.keras.layers.Dense(2))
    path = str(tmp_path / name)
    if KERAS_3:
        with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
            model.save_weights(path)
    else:
        model.save_weights(path)
        model.load_weights(path)


def test_save_model_without_extension(tmp_path):  # save-model-suffix
    model = _sequential((3,), tf.keras.layers.Dense(2))
    path = str(tmp_path / "model")
    if KERAS_3:
        with pytest.raises(ValueError, match="Invalid filepath extension"):
            model.save(path)
    else:  # a TensorFlow SavedModel directory
        model.save(path)
        assert (tmp_path / "model" / "saved_model.pb").exists()
