"""The dtype checks catch their broken layers and pass correct ones."""

import pytest
import tensorflow as tf

from keras_compat import keras
from conformance.runner import run_check
from conformance.spec import CheckSpec, spec_for_reference
from examples.broken_layers import dtype as broken
from tests.family_contract import family_tests, passes_correct_targets

GOOD = [
    pytest.param(CheckSpec(keras.layers.BatchNormalization, [(3, 7)]), id="BatchNormalization"),
    pytest.param(CheckSpec(keras.layers.Concatenate, [(3, 4), (3, 5)]), id="Concatenate"),
    pytest.param(spec_for_reference("batch_norm_dropout_block"), id="batch_norm_dropout_block"),
    pytest.param(spec_for_reference("mnist_sequential"), id="mnist_sequential"),  # softmax head
]

CHECKS, test_every_check_has_a_broken_layer, test_check_fails_its_broken_layer = family_tests(
    "dtype", broken
)
test_check_passes_correct_layers = passes_correct_targets(CHECKS, GOOD)


class Float32HeadModel(keras.Model):
    """The mixed-precision guide's pattern: the output layer alone is given dtype='float32'."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = keras.layers.Dense(8, activation="relu")
        self.head = keras.layers.Dense(3, activation="softmax", dtype="float32")

    def call(self, inputs):
        return self.head(self.hidden(inputs))


def test_an_explicit_float32_output_layer_is_allowed_under_mixed_precision():
    result = run_check("check_mixed_precision", CheckSpec(Float32HeadModel, [(4, 5)]))
    assert result.status == "passed", result.message


@pytest.mark.parametrize("check_id, trait", [("check_mixed_precision", "no_mixed_precision"),
                                             ("check_float64_policy", "no_float64")])
def test_declared_traits_skip(check_id, trait):
    spec = CheckSpec(broken.Float32PinnedDense, [(4, 6)], {"units": 3}, traits={trait})
    result = run_check(check_id, spec)
    assert result.status == "skipped" and trait in result.message


def test_the_global_policy_is_restored():
    before = keras.mixed_precision.global_policy().name
    run_check("check_mixed_precision", CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 2}))
    run_check("check_float64_policy", CheckSpec(keras.layers.Dense, [(3, 7)], {"units": 2}))
    assert keras.mixed_precision.global_policy().name == before


# -- correct layers that look broken (issue 17) -----------------------------------------------

from examples.tricky_good import gradients_dtype as tricky  # noqa: E402


def _tricky_spec(name, traits=None, **fields):
    cls, kwargs, inputs, declared = tricky.CASES[name]
    return CheckSpec(cls, inputs=inputs, kwargs=kwargs, traits=declared if traits is None else traits,
                     **{**tricky.FIELDS.get(name, {}), **fields})


@pytest.mark.parametrize("name", sorted(tricky.CASES))
@pytest.mark.parametrize("check_id", CHECKS)
def test_tricky_but_correct_layers_pass_or_report_their_precision_limit(check_id, name):
    result = run_check(check_id, _tricky_spec(name))
    if check_id in tricky.EXPECTED_REPORTS.get(name, {}):
        assert result.status == "failed"
        assert "float32 resolution" in result.message and "--trait no_float64" in result.message
    else:
        assert result.status in ("passed", "skipped"), result.message


def test_a_float32_path_beside_float64_ones_is_reported_by_source():
    result = run_check("check_float64_policy", _tricky_spec("FourierMixing"))
    seen = result.message.split("; saw ")[1].split(" (a cast")[0]
    assert "input 'input_0'" in seen and "weight" not in seen  # its projection is float64
    declared = run_check("check_float64_policy", _tricky_spec("FourierMixing", traits={"no_float64"}))
    assert declared.status == "skipped"


def test_float32_outputs_need_the_declaration_and_keep_the_variable_contract():
    undeclared = run_check("check_mixed_precision", _tricky_spec("Float32ResidualBlock", traits=set()))
    assert undeclared.status == "failed" and "--trait float32_outputs" in undeclared.message
    assert run_check("check_mixed_precision", _tricky_spec("Float32ResidualBlock")).status == "passed"
    named = run_check("check_mixed_precision", CheckSpec(tricky.Float32ResidualBlock, ["3,5"],
                                                         float32_outputs=["1"]))
    assert named.status == "passed", named.message
    wrong_one = run_check("check_mixed_precision", CheckSpec(tricky.Float32ResidualBlock, ["3,5"],
                                                             float32_outputs=["0"]))
    assert wrong_one.status == "failed" and "1: float32" in wrong_one.message
    variables = run_check("check_mixed_precision", CheckSpec(broken.Float16VariablesDense, [(4, 6)],
                                                             {"units": 3}, traits={"float32_outputs"}))
    assert variables.status == "failed" and "float16" in variables.message


def test_an_op_without_a_float16_kernel_here_is_an_environment_limit():
    result = run_check("check_mixed_precision", _tricky_spec("GramDeterminant"))
    assert result.status in ("skipped", "passed"), result.message
    if result.status == "skipped":
        assert "float16 kernel" in result.message and "environment" in result.message


def test_side_inputs_are_fed_in_the_compute_dtype():
    from conformance.checks.dtype import _side_keys

    assert _side_keys(_tricky_spec("SideInputBlend")) == ["context"]
    assert _side_keys(CheckSpec(keras.layers.Add, [(3, 4), (3, 4)])) == []


def test_float32_outputs_are_declared_the_same_way_on_the_command_line_and_in_a_payload():
    from conformance.cli import _build_parser
    from conformance.config import run_options
    from conformance.spec import spec_from_payload

    args = _build_parser().parse_args(["check", "examples/tricky_good/gradients_dtype.py:Float32ResidualBlock",
                                       "--input", "3,5", "--float32-output", "1"])
    assert run_options(args).targets[0].fields["float32_outputs"] == ["1"]
    spec = CheckSpec(tricky.Float32ResidualBlock, ["3,5"], float32_outputs=["1"],
                     import_path="examples.tricky_good.gradients_dtype:Float32ResidualBlock")
    assert spec_from_payload(spec.to_payload()).float32_outputs == ("1",)


def test_a_layer_with_autocast_off_is_fed_in_the_compute_dtype():
    """Embedding (and keras-hub's ReversibleEmbedding) set autocast=False: a model feeds
    them what the layer before made, float16 under mixed precision."""
    import keras_compat as compat

    assert compat.autocasts_inputs(keras.layers.Embedding(5, 2)) is False
    assert compat.autocasts_inputs(keras.layers.Dense(2)) is True
    result = run_check("check_mixed_precision", _tricky_spec("AutocastOffProjection"))
    assert result.status == "passed", result.message


class _AutocastOffFloat32(tricky.AutocastOffProjection):
    """Broken: autocast is off and it casts to float32 anyway, so even fed float16 it
    outputs float32."""

    def call(self, inputs):
        return tf.matmul(tf.cast(inputs, tf.float32), tf.cast(self.kernel, tf.float32))


def test_a_layer_with_autocast_off_that_outputs_float32_from_float16_still_fails():
    result = run_check("check_mixed_precision", CheckSpec(_AutocastOffFloat32, ["3,5"], {"units": 6}))
    assert result.status == "failed"
    assert "autocast=False" in result.message and "float32" in result.message


def test_a_declared_float32_output_may_be_float32_under_float64_too():
    declared = run_check("check_float64_policy", _tricky_spec("BoxesAndScores"))
    assert declared.status == "passed", declared.message
    undeclared = run_check("check_float64_policy", _tricky_spec("BoxesAndScores", float32_outputs=()))
    assert undeclared.status == "failed"
    assert "boxes: float32" in undeclared.message and "--float32-output" in undeclared.message
    float32 = run_check("check_float64_policy", CheckSpec(broken.Float32Softmax, [(4, 6)]))
    assert float32.status == "failed"  # undeclared, it is still blamed
