"""The gradients checks catch their broken layers and pass correct ones."""

import pytest
import tensorflow as tf

from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import gradients as broken
from tests.family_contract import family_tests, passes_correct_targets

GOOD = [
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(CheckSpec(keras.layers.Add, [(3, 4), (3, 4)]), id="Add"),
    pytest.param(spec_for_reference("batch_norm_dropout_block"), id="batch_norm_dropout_block"),
    pytest.param(spec_for_reference("wide_and_deep"), id="wide_and_deep"),
]

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "gradients", broken
)
test_check_passes_correct_layers = passes_correct_targets(CHECKS, GOOD)


def test_weightless_layer_is_skipped_by_weight_checks_but_gets_input_gradients_checked():
    spec = CheckSpec(keras.layers.Add, [(3, 4), (3, 4)])
    statuses = {check_id: run_check(check_id, spec).status for check_id in CHECKS}
    assert statuses == {
        "check_gradients_nonzero": "skipped",
        "check_gradients_match_finite_differences": "passed",
        "check_fit_updates_trainable_weights": "skipped",
        "check_trainable_false_freezes": "skipped",
    }


def test_finite_differences_skip_a_declared_no_float64_layer():
    spec = CheckSpec(broken.CustomGradientReLUDense, [(4, 6)], traits={"no_float64"})
    result = run_check("check_gradients_match_finite_differences", spec)
    assert result.status == "skipped" and "no_float64" in result.message


def test_finite_differences_name_the_wrong_gradient():
    spec = CheckSpec(broken.CustomGradientReLUDense, [(4, 6)], {"units": 5})
    result = run_check("check_gradients_match_finite_differences", spec)
    assert "autodiff" in result.message and "finite differences" in result.message


def test_a_float32_kernel_is_a_precision_limit_not_a_wrong_gradient():
    from examples.broken_layers.dtype import Float32KernelDense

    spec = CheckSpec(Float32KernelDense, [(4, 6)], {"units": 3})
    gradients = run_check("check_gradients_match_finite_differences", spec)
    assert gradients.status == "passed", gradients.message
    precision = run_check("check_float64_policy", spec)
    assert precision.status == "failed"
    assert "float32" in precision.message and "precision" in precision.message


def test_a_wrong_gradient_inside_a_float32_kernel_is_still_found():
    spec = CheckSpec(broken.Float32CustomGradientReLUDense, [(4, 6)], {"units": 5})
    result = run_check("check_gradients_match_finite_differences", spec)
    assert result.status == "failed"
    assert "float32 precision" in result.message and "autodiff" in result.message


# -- correct layers that look broken (issue 17) -----------------------------------------------

from examples.tricky_good import gradients_dtype as tricky  # noqa: E402


def _tricky_spec(name, **fields):
    cls, kwargs, inputs, traits = tricky.CASES[name]
    return CheckSpec(cls, inputs=inputs, kwargs=kwargs, traits=traits, **{**tricky.FIELDS.get(name, {}), **fields})


@pytest.mark.parametrize("name", sorted(tricky.CASES))
@pytest.mark.parametrize("check_id", CHECKS)
def test_tricky_but_correct_layers_pass(check_id, name):
    result = run_check(check_id, _tricky_spec(name))
    assert result.status in ("passed", "skipped"), result.message


def test_a_weight_used_only_in_another_call_mode_is_not_blamed_but_a_never_used_one_is():
    assert run_check("check_gradients_nonzero", _tricky_spec("UntiedReversibleEmbedding")).status == "passed"
    unused = run_check("check_gradients_nonzero", CheckSpec(broken.UnusedBiasDense, [(4, 6)], {"units": 3}))
    assert unused.status == "failed"
    assert "bias" in unused.message and "no other argument" in unused.message


def test_a_weight_the_output_follows_without_a_gradient_is_named_as_cut():
    for cls in (broken.StopGradientDense, broken.NumpyCopyDense):
        result = run_check("check_gradients_nonzero", CheckSpec(cls, [(4, 6)], {"units": 3}))
        assert result.status == "failed"
        assert "kernel" in result.message and "depends on it" in result.message


class _AllWeightsInOtherMode(broken._Dense):
    """Uses its weights only when project=True."""

    def call(self, inputs, project=False):
        return tf.matmul(inputs, self.kernel) + self.bias if project else inputs * 2.0


def test_a_layer_none_of_whose_weights_this_call_uses_fails_and_says_so():
    spec = CheckSpec(_AllWeightsInOtherMode, [(4, 6)], {"units": 6})
    result = run_check("check_gradients_nonzero", spec)
    assert result.status == "failed" and "nor is any other weight" in result.message
    used = CheckSpec(_AllWeightsInOtherMode, [(4, 6)], {"units": 3}, call_kwargs={"project": True})
    assert run_check("check_gradients_nonzero", used).status == "passed"


def test_a_zero_gate_is_redrawn_before_blaming_the_weights_behind_it():
    for check_id in ("check_gradients_nonzero", "check_fit_updates_trainable_weights"):
        result = run_check(check_id, _tricky_spec("ReZeroBlock"))
        assert result.status == "passed", result.message


def test_an_update_below_float32_resolution_is_not_a_missing_update():
    result = run_check("check_fit_updates_trainable_weights", _tricky_spec("LearnedTimescaleEncoding"))
    assert result.status == "passed", result.message


def test_finite_differences_step_off_a_relu_kink_and_per_source_precision():
    for name in ("ConvBatchNormReLU", "FourierMixing", "Float32RMSNorm", "FourierResidualMixing"):
        result = run_check("check_gradients_match_finite_differences", _tricky_spec(name))
        assert result.status == "passed", (name, result.message)


def test_finite_differences_refuse_a_function_that_changes_between_calls():
    from examples.broken_layers.graph import StepDecayGain

    result = run_check("check_gradients_match_finite_differences", CheckSpec(StepDecayGain, [(4, 6)]))
    assert result.status == "failed" and "same inputs and weights" in result.message


def test_finite_difference_numbers_are_the_same_run_to_run():
    spec = CheckSpec(broken.CustomGradientReLUDense, [(4, 6)], {"units": 5})
    first = run_check("check_gradients_match_finite_differences", spec).message
    assert first == run_check("check_gradients_match_finite_differences", spec).message


class _OptionalArguments(broken._Dense):
    """A call with two optional arguments (what it does with them does not matter here)."""

    def call(self, inputs, mask=None, reverse=False):
        return tf.matmul(inputs, self.kernel) + self.bias


def test_other_call_modes_are_the_optional_arguments_set_or_left_out():
    from conformance.checks._weights import other_call_modes

    assert other_call_modes(CheckSpec(broken.UnusedBiasDense, [(4, 6)])) == []
    assert other_call_modes(CheckSpec(_OptionalArguments, ["4,6"])) == ["reverse=..."]
    given = CheckSpec(_OptionalArguments, ["4,6", "mask=4,6:bool"], call_kwargs={"reverse": False})
    assert other_call_modes(given) == ["mask left out", "reverse other than False"]


def test_a_float32_path_beside_a_float64_one_of_the_same_input_sets_its_step():
    """FNet: x + FFT(x) in complex64. A step below float32 resolution follows the residual
    alone, so the input's precision is told by the slopes over two steps."""
    from conformance import isolation
    from conformance.checks._precision import built_in_float64, source_precisions

    spec = _tricky_spec("FourierResidualMixing")
    with isolation.isolated():  # as the runner calls a check: the float64 policy is put back
        layer, inputs = built_in_float64(spec)
        precisions = source_precisions(spec, layer, inputs)
    assert precisions[("input", "input_0")] == "float32"
    assert precisions[("weight", id(layer.kernel))] == "float64"


def test_a_weight_this_calls_label_values_never_select_is_unused_not_broken():
    """SAM's prompt encoder: the padding and box-corner embeddings are selected by label
    values a point-prompt call does not have; their gradient is zero, not None."""
    spec = _tricky_spec("LabelledPointPrompts")
    for check_id in ("check_gradients_nonzero", "check_fit_updates_trainable_weights"):
        result = run_check(check_id, spec)
        assert result.status == "passed", result.message


@tf.custom_gradient
def _scaled_without_gradient(x, scale):
    """x * scale with a hand-written gradient that forgets the scale's part."""

    def grad(upstream):
        return upstream * scale, tf.zeros_like(scale)

    return x * scale, grad


class _ZeroGradientScale(broken._Dense):
    """Broken: the output follows ``bias`` through a custom gradient that gives it zero."""

    def call(self, inputs):
        product = tf.matmul(inputs, self.kernel)
        return _scaled_without_gradient(product, self.bias + 1.0)


class _TimesZeroBias(broken._Dense):
    """Broken: the bias is in the graph (times 0.0), so its gradient is zero, not None,
    and it has no effect; call() has no other argument that could use it."""

    def call(self, inputs):
        return tf.matmul(inputs, self.kernel) + 0.0 * self.bias


def test_a_zero_gradient_fails_when_the_output_follows_the_weight_or_nothing_else_could_use_it():
    followed = run_check("check_gradients_nonzero", CheckSpec(_ZeroGradientScale, [(4, 6)], {"units": 3}))
    assert followed.status == "failed"
    assert "bias" in followed.message and "an all-zero gradient" in followed.message
    unused = run_check("check_gradients_nonzero", CheckSpec(_TimesZeroBias, [(4, 6)], {"units": 3}))
    assert unused.status == "failed"
    assert "bias" in unused.message and "no other argument" in unused.message
