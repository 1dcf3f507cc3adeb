"""A reference may be any importable Layer class or a NumPy function, with a weight map when
the weights do not line up by order and shape."""

import pytest
import tensorflow as tf

from conformance import cli
from conformance.catalogue import all_checks
from conformance.reference_target import FUNCTION, LAYER, REGISTRY, ReferenceUsageError
from conformance.runner import run_check, run_spec
from conformance.spec import CheckSpec
from examples.broken_layers.reference import (FrozenMovingMeanBatchNorm, MinusBetaLayerNorm,
                                              TransposedKernelDense)
from examples.user_layers.hand_layer_norm import HandLayerNorm
from keras_compat import keras

REFERENCE_CHECKS = [check.id for check in all_checks(family="reference")]
KERAS_LAYER_NORM = "keras.layers:LayerNormalization"
FORMULA = "examples.user_layers.formulas:layer_norm"
HAND_LAYER_NORM = "examples/user_layers/hand_layer_norm.py:HandLayerNorm"
#: SimpleDense's initialisation, so a Dense reference starts like the broken dense layers.
_NORMAL_005 = {"class_name": "RandomNormal", "config": {"stddev": 0.05}}


def _statuses(spec, checks=REFERENCE_CHECKS):
    results = {check: run_check(check, spec) for check in checks}
    return {check: result.status for check, result in results.items()}, results


def _not_passed(results):
    return [f"{c}: {r.status}: {r.message}" for c, r in results.items() if r.status != "passed"]


def test_the_imported_object_says_what_the_reference_is():
    kinds = {reference: CheckSpec(HandLayerNorm, inputs=["3,6"], reference=reference).reference_entry().kind
             for reference in ("simple_dense", KERAS_LAYER_NORM, FORMULA)}
    assert kinds == {"simple_dense": REGISTRY, KERAS_LAYER_NORM: LAYER, FORMULA: FUNCTION}


@pytest.mark.parametrize("reference, problem", [
    ("keras.layers:NoSuchLayer", "cannot import"),
    ("keras.initializers:GlorotUniform", "not a keras.layers.Layer"),
    ("keras_compat:KERAS_3", "neither a Layer class nor a function"),
    ("a:b:c", "must be a reference_models name"),
])
def test_a_reference_that_names_nothing_usable_is_refused_when_the_spec_is_made(reference, problem):
    with pytest.raises(ReferenceUsageError, match=problem):
        CheckSpec(HandLayerNorm, inputs=["3,6"], reference=reference)


def test_a_hand_written_layer_norm_passes_every_reference_check_against_keras():
    statuses, results = _statuses(CheckSpec(HandLayerNorm, inputs=["3,6"], reference=KERAS_LAYER_NORM))
    assert _not_passed(results) == [
        f"check_reference_stochastic_statistics: skipped: reference {KERAS_LAYER_NORM!r} is deterministic "
        "in training (measured: seeded training calls on the same inputs gave the same outputs)"]


def test_the_command_from_the_issue_passes_the_good_layer_and_fails_the_plus_mean_one(capsys):
    code = cli.main(["check", HAND_LAYER_NORM, "--input", "3,6", "--reference", KERAS_LAYER_NORM])
    out = capsys.readouterr().out
    assert code == 0 and "PASSED" in out, out
    code = cli.main(["check", "examples/broken_layers/reference.py:PlusMeanLayerNorm", "--input", "3,6",
                     "--reference", KERAS_LAYER_NORM, "--family", "reference"])
    out = capsys.readouterr().out
    assert code == 1 and "FAIL  check_reference_outputs" in out, out


def test_a_function_reference_compares_outputs_and_says_why_the_weight_checks_skip():
    statuses, results = _statuses(CheckSpec(HandLayerNorm, inputs=["3,6"], reference=FORMULA))
    assert statuses["check_reference_outputs"] == "passed", results["check_reference_outputs"].message
    for check in ("check_reference_weight_structure", "check_reference_gradients",
                  "check_reference_initialization", "check_reference_parameter_counts"):
        assert statuses[check] == "skipped"
        assert f"reference {FORMULA!r} is a function" in results[check].message


@pytest.mark.parametrize("tier", ["fast", pytest.param("full", marks=pytest.mark.slow)])
def test_a_one_character_change_only_the_function_reference_catches(tier):
    """``- beta`` for ``+ beta``: every other check of the tier passes it or skips it."""
    report = run_spec(CheckSpec(MinusBetaLayerNorm, inputs=["3,6"], tier=tier))
    assert [r.check for r in report.results if r.status not in ("passed", "skipped")] == []
    result = run_check("check_reference_outputs", CheckSpec(MinusBetaLayerNorm, inputs=["3,6"], reference=FORMULA))
    assert result.status == "failed" and "the reference's inference outputs" in result.message


def _function_calls():
    calls = []

    def recorded(inputs, weights, training=False):
        calls.append((inputs.shape, sorted(weights), training))
        return inputs * weights["gamma"] + weights["beta"]

    return calls, recorded


def test_a_function_reference_gets_numpy_inputs_the_weights_by_name_and_training(monkeypatch):
    import examples.user_layers.formulas as formulas

    calls, recorded = _function_calls()
    monkeypatch.setattr(formulas, "layer_norm", recorded)
    run_check("check_reference_outputs", CheckSpec(HandLayerNorm, inputs=["3,6"], reference=FORMULA))
    assert ((3, 6), ["beta", "gamma"], False) in calls and ((3, 6), ["beta", "gamma"], True) in calls


def test_a_function_that_returns_nothing_is_an_error_not_a_failure_of_the_layer(monkeypatch):
    import examples.user_layers.formulas as formulas

    monkeypatch.setattr(formulas, "layer_norm", lambda inputs, weights: None)
    result = run_check("check_reference_outputs", CheckSpec(HandLayerNorm, inputs=["3,6"], reference=FORMULA))
    assert result.status == "error" and "returned None" in result.message


def _transposed_dense(weight_map=None, **fields):
    return CheckSpec(TransposedKernelDense, inputs=["4,16"], kwargs={"units": 8},
                     reference="keras.layers:Dense",
                     reference_kwargs={"units": 8, "kernel_initializer": _NORMAL_005},
                     weight_map=weight_map, **fields)


def test_weights_that_do_not_line_up_are_listed_with_how_to_map_them():
    result = run_check("check_reference_weight_structure", _transposed_dense())
    assert result.status == "failed"
    assert "kernel(16, 8), bias(8,)" in result.message and "kernel(8, 16), bias(8,)" in result.message
    assert "--weight-map" in result.message


@pytest.mark.parametrize("weight_map", [
    '{"kernel": "kernel.T"}',
    {"kernel": "kernel.T", "bias": "bias"},
    "examples.user_layers.weight_maps:from_torch_linear",
], ids=["json", "dict", "function"])
def test_a_weight_map_lines_up_a_transposed_port(weight_map):
    statuses, results = _statuses(_transposed_dense(weight_map))
    assert _not_passed(results) == [
        "check_reference_stochastic_statistics: skipped: reference 'keras.layers:Dense' is "
        "deterministic in training (measured: seeded training calls on the same inputs gave the same outputs)"]


def test_a_weight_map_function_compares_the_input_gradients_only_and_says_so():
    result = run_check("check_reference_gradients",
                       _transposed_dense("examples.user_layers.weight_maps:from_torch_linear"))
    assert result.status == "passed" and "w.r.t. the inputs only" in result.note


def test_a_weight_map_carries_the_gradients_across_a_transpose():
    """A dense port whose kernel gradient is wrong, seen through the transposed map."""

    @tf.custom_gradient
    def doubled_kernel_gradient(kernel):
        return tf.identity(kernel), lambda upstream: 2.0 * upstream

    class DoubledGradientPort(TransposedKernelDense):
        def call(self, inputs):
            return tf.matmul(inputs, doubled_kernel_gradient(tf.identity(self.kernel)),
                             transpose_b=True) + self.bias

    spec = CheckSpec(DoubledGradientPort, inputs=["4,16"], kwargs={"units": 8}, reference="keras.layers:Dense",
                     reference_kwargs={"units": 8}, weight_map={"kernel": "kernel.T"})
    result = run_check("check_reference_gradients", spec)
    assert result.status == "failed" and "weight 'kernel'" in result.message, result.message


def test_a_weight_map_naming_no_weight_of_the_target_is_an_error_that_lists_them():
    result = run_check("check_reference_outputs", _transposed_dense({"kernal": "kernel.T"}))
    assert result.status == "error" and "kernal" in result.message and "kernel, bias" in result.message


def test_a_weight_map_needs_a_reference_and_a_readable_form():
    with pytest.raises(ValueError, match="needs a reference"):
        CheckSpec(HandLayerNorm, inputs=["3,6"], weight_map={"gamma": "gamma"})
    with pytest.raises(ValueError, match="JSON"):
        _transposed_dense("{kernel: kernel.T}")


class _HandBatchNorm(FrozenMovingMeanBatchNorm):
    """FrozenMovingMeanBatchNorm with the moving mean updated too: Keras's batch normalisation."""

    def call(self, inputs, training=False):
        if training and self.trainable:
            mean, variance = tf.nn.moments(inputs, axes=[0])
            self.moving_mean.assign(self.momentum * self.moving_mean + (1.0 - self.momentum) * mean)
        return super().call(inputs, training=training)


def test_inference_after_a_training_call_tells_a_moving_mean_never_updated():
    spec = CheckSpec(FrozenMovingMeanBatchNorm, inputs=["8,16"], reference="keras.layers:BatchNormalization")
    result = run_check("check_reference_outputs", spec)
    assert result.status == "failed" and "inference after a training call" in result.message, result.message
    statuses, results = _statuses(CheckSpec(_HandBatchNorm, inputs=["8,16"],
                                            reference="keras.layers:BatchNormalization"))
    assert set(_not_passed(results)) == {
        "check_reference_stochastic_statistics: skipped: reference 'keras.layers:BatchNormalization' is "
        "deterministic in training (measured: seeded training calls on the same inputs gave the same outputs)"}


def test_a_random_layer_reference_is_measured_as_such_and_compared_by_statistics():
    spec = CheckSpec(keras.layers.Dropout, inputs=["8,32"], kwargs={"rate": 0.3}, reference="keras.layers:Dropout")
    statuses, results = _statuses(spec)
    assert not [m for m in _not_passed(results)], results
    assert spec.reference_entry().stochastic_in_training(spec)


def test_the_reference_and_weight_map_travel_to_another_process():
    from conformance.spec import spec_from_payload

    spec = _transposed_dense({"kernel": "kernel.T"}, import_path="examples.broken_layers.reference:TransposedKernelDense")
    again = spec_from_payload(spec.to_payload())
    assert (again.reference, again.weight_map) == ("keras.layers:Dense", {"kernel": "kernel.T"})


@pytest.mark.parametrize("argv, problem", [
    (["--weight-map", '{"a": "b"}'], "--weight-map needs --reference"),
    (["--reference", "a:b:c"], "must be a reference_models name"),
    (["--reference", "no/such/file.py:Layer"], "no such file"),
])
def test_the_command_refuses_a_reference_it_cannot_use(capsys, argv, problem):
    code = cli.main(["check", HAND_LAYER_NORM, "--input", "3,6", *argv])
    assert code == 2 and problem in capsys.readouterr().err


def test_a_reference_that_cannot_be_made_is_the_checks_error_not_the_targets_failure():
    spec = CheckSpec(HandLayerNorm, inputs=["3,6"], reference="keras.layers:Dense")
    result = run_check("check_reference_outputs", spec)
    assert result.status == "error"
    assert "cannot be made with the target's kwargs (give reference_kwargs)" in result.message


def test_a_pyproject_target_takes_a_layer_reference_and_a_weight_map_table(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text(
        '[[tool.keras-conformance.targets]]\n'
        'target = "examples.broken_layers.reference:TransposedKernelDense"\n'
        'inputs = ["4,16"]\n'
        'kwargs = {units = 8}\n'
        'reference = "keras.layers:Dense"\n'
        'reference_kwargs = {units = 8, kernel_initializer = {class_name = "RandomNormal", '
        'config = {stddev = 0.05}}}\n'
        'weight_map = {kernel = "kernel.T"}\n', encoding="utf-8")
    code = cli.main(["check", "--config", str(tmp_path / "pyproject.toml"), "--family", "reference"])
    out = capsys.readouterr().out
    assert code == 0 and "PASSED" in out, out


def test_a_pyproject_file_reference_is_relative_to_the_pyproject(tmp_path, capsys):
    (tmp_path / "pyproject_relative_formula.py").write_text(
        "def scaled(inputs, weights):\n    return inputs * weights['gamma'] + weights['beta']\n",
        encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(
        '[[tool.keras-conformance.targets]]\n'
        'target = "examples.user_layers.hand_layer_norm:HandLayerNorm"\n'
        'inputs = ["3,6"]\n'
        'reference = "pyproject_relative_formula.py:scaled"\n', encoding="utf-8")
    code = cli.main(["check", "--config", str(tmp_path / "pyproject.toml"), "--check", "check_reference_outputs"])
    out = capsys.readouterr().out
    assert code == 1 and "FAIL  check_reference_outputs" in out, out


def test_a_reference_module_that_exits_at_import_is_refused_and_the_checker_goes_on(tmp_path):
    (tmp_path / "reference_that_exits.py").write_text("import sys\nsys.exit(3)\n", encoding="utf-8")
    with pytest.raises(ReferenceUsageError, match=r"called sys.exit\(3\) while it was imported"):
        CheckSpec(HandLayerNorm, inputs=["3,6"], reference=f"{tmp_path}/reference_that_exits.py:Layer")


def test_a_function_reference_is_called_like_the_layer_with_only_the_keywords_it_takes():
    spec = CheckSpec(keras.layers.Add, inputs=["3,4", "3,4"], reference="examples.user_layers.formulas:add")
    result = run_check("check_reference_outputs", spec)
    assert result.status == "passed", result.message
