"""check_dtype_policy_reaches_sublayers: a layer given dtype= a policy hands it to every
sublayer it makes (float32 kept on purpose under mixed precision allowed), and names the
sublayer that does not follow it."""

import pytest

import keras_compat as compat
from conformance.runner import run_check, run_spec
from conformance.spec import CheckSpec
from examples.broken_layers import dtype as broken
from examples.tricky_good import dtype_sublayers as tricky
from keras_compat import keras

CHECK = "check_dtype_policy_reaches_sublayers"
_VECTOR = [(4, 6)]


def test_the_forgotten_sublayer_is_named_by_its_attribute():
    result = run_check(CHECK, CheckSpec(broken.ProjectionWithoutDtype, _VECTOR, {"units": 3}))
    assert result.status == "failed"
    assert "dtype='mixed_float16'" in result.expected
    assert result.seen.startswith("projection: ") and "made without dtype=" in result.seen
    assert "hidden" not in result.seen
    assert "dtype=self.dtype_policy" in result.hint


@pytest.mark.parametrize("check_id", ["check_mixed_precision", "check_float64_policy"])
def test_the_global_policy_checks_do_not_see_it(check_id):
    """Under a global policy the forgotten sublayer follows it too: only the new check sees it."""
    result = run_check(check_id, CheckSpec(broken.ProjectionWithoutDtype, _VECTOR, {"units": 3}))
    assert result.status == "passed", result.message


def test_float32_pinned_under_float64_fails_and_says_how_to_declare_it():
    result = run_check(CHECK, CheckSpec(broken.NormPinnedToFloat32, _VECTOR, {"units": 3}))
    assert result.status == "failed"
    assert "dtype='float64'" in result.expected and result.seen.startswith("norm: computes in float32")
    assert "--trait float32_sublayers" in result.hint


@pytest.mark.parametrize("traits", [{"float32_sublayers"}, {"no_float64"}])
def test_float32_kept_on_purpose_passes_when_declared(traits):
    result = run_check(CHECK, CheckSpec(broken.NormPinnedToFloat32, _VECTOR, {"units": 3}, traits=traits))
    assert result.status == "passed", result.message
    assert result.note.startswith("in float32 under mixed precision (given dtype='float32' on purpose")
    assert result.note.endswith("by mistake): norm")


def test_no_mixed_precision_leaves_float64_checked():
    result = run_check(CHECK, CheckSpec(broken.ProjectionWithoutDtype, _VECTOR, {"units": 3},
                                        traits={"no_mixed_precision"}))
    assert result.status == "failed" and "dtype='float64'" in result.expected


def test_both_traits_skip():
    result = run_check(CHECK, CheckSpec(broken.ProjectionWithoutDtype, _VECTOR, {"units": 3},
                                        traits={"no_mixed_precision", "no_float64"}))
    assert result.status == "skipped" and "no_float64" in result.message


class GlobalPolicyOnly(keras.layers.Layer):
    """Correct for the global policy: none of its sublayers is given the layer's dtype."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = keras.layers.Dense(5)
        self.second = keras.layers.Dense(3)

    def call(self, inputs):
        return self.second(self.first(inputs))


def test_a_layer_handing_the_policy_to_no_sublayer_skips_and_says_so():
    result = run_check(CHECK, CheckSpec(GlobalPolicyOnly, _VECTOR))
    assert result.status == "skipped"
    assert "to none of its sublayers" in result.message and "global policy only" in result.message


class Wrapper(keras.layers.Layer):
    """Correct: its only sublayer is given to the constructor, in the caller's dtype."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, inputs):
        return self.layer(inputs)


def test_a_sublayer_given_to_the_constructor_is_the_callers():
    spec = CheckSpec(Wrapper, _VECTOR, {"layer": {"class_name": "Dense", "config": {"units": 3}}})
    result = run_check(CHECK, spec)
    assert result.status == "skipped" and "given to the constructor" in result.message


class NoKwargs(keras.layers.Layer):
    def __init__(self, units=3):
        super().__init__()
        self.dense = keras.layers.Dense(units)

    def call(self, inputs):
        return self.dense(inputs)


def test_a_constructor_without_dtype_skips():
    result = run_check(CHECK, CheckSpec(NoKwargs, _VECTOR))
    assert result.status == "skipped" and "no dtype argument" in result.message


def test_a_layer_without_sublayers_skips():
    result = run_check(CHECK, CheckSpec(keras.layers.Dense, _VECTOR, {"units": 3}))
    assert result.status == "skipped" and "no sublayers" in result.message


def test_keras_layers_that_hand_the_policy_on_pass():
    result = run_check(CHECK, CheckSpec(keras.layers.MultiHeadAttention, inputs=["query=2,5,8", "value=2,5,8"],
                                        kwargs={"num_heads": 2, "key_dim": 4}))
    assert result.status == "passed", result.message


def test_the_global_policy_is_left_as_it_was():
    before = compat.global_policy_name()
    run_check(CHECK, CheckSpec(broken.ProjectionWithoutDtype, _VECTOR, {"units": 3}))
    assert compat.global_policy_name() == before


@pytest.mark.parametrize("label", sorted(tricky.CASES))
def test_every_check_passes_the_tricky_layer(label):
    cls, kwargs, inputs, traits = tricky.CASES[label]
    report = run_spec(CheckSpec(cls, inputs=inputs, kwargs=kwargs, traits=traits, label=f"tricky_good:{label}",
                                import_path=f"{tricky.__name__}:{cls.__name__}"))
    failed = [f"{r.check}: {r.status}: {r.message}" for r in report.results
              if r.status not in ("passed", "skipped")]
    assert not failed, failed
    ours = next(r for r in report.results if r.check == CHECK)
    assert ours.status == "passed", ours.message


def test_the_float32_softmax_is_named_in_the_note():
    cls, kwargs, inputs, _ = tricky.CASES["Float32SoftmaxAttention"]
    result = run_check(CHECK, CheckSpec(cls, inputs=inputs, kwargs=kwargs))
    assert result.note.startswith("in float32 under mixed precision") and result.note.endswith("): softmax")


class VariableDtypeSublayers(keras.layers.Layer):
    """Gives its sublayers dtype=self.dtype: the variable dtype, float32 under mixed precision."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = keras.layers.Dense(5, dtype=self.dtype)
        self.second = keras.layers.Dense(3, dtype=self.dtype)

    def call(self, inputs):
        return self.second(self.first(inputs))


def test_sublayers_given_the_variable_dtype_are_named_not_excused():
    """They follow a float64 policy, so the layer hands its policy on; under mixed precision
    they cannot be told from float32 kept on purpose, and the note names them."""
    result = run_check(CHECK, CheckSpec(VariableDtypeSublayers, _VECTOR))
    assert result.status == "passed", result.message
    assert "dtype=self.dtype" in result.note and result.note.endswith("by mistake): first, second")


class Block(keras.layers.Layer):
    def __init__(self, forget=False, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(6, dtype=self.dtype_policy)
        self.norm = keras.layers.LayerNormalization(**({} if forget else {"dtype": self.dtype_policy}))

    def call(self, inputs):
        return self.norm(self.dense(inputs))


class Stack(keras.layers.Layer):
    """Hands its policy to a list of blocks; the second block forgets it for its norm."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.blocks = [Block(dtype=self.dtype_policy), Block(forget=True, dtype=self.dtype_policy)]

    def call(self, inputs):
        for block in self.blocks:
            inputs = block(inputs)
        return inputs


def test_a_nested_sublayer_is_named_by_its_path_through_lists():
    result = run_check(CHECK, CheckSpec(Stack, _VECTOR))
    assert result.status == "failed"
    assert result.seen.startswith("blocks[1].norm: ") and "where blocks[1] has mixed_float16" in result.seen


class HoldsAGlobalPolicyBlock(keras.layers.Layer):
    """Hands its policy to a Dense and to a block written for the global policy only."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(5, dtype=self.dtype_policy)
        self.block = GlobalPolicyOnly(dtype=self.dtype_policy)

    def call(self, inputs):
        return self.block(self.dense(inputs))


def test_a_nested_block_written_for_the_global_policy_is_named_in_the_note():
    result = run_check(CHECK, CheckSpec(HoldsAGlobalPolicyBlock, _VECTOR))
    assert result.status == "passed", result.message
    assert result.note == "hand the policy to none of their sublayers (global policy only): block"
