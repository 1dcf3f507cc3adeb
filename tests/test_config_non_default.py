"""check_config_keeps_non_default_kwargs: each argument left at its default is set away from it,
one at a time, and must survive from_config(get_config()); what it cannot vary it lists."""

import inspect
import typing

import pytest

import keras_compat as compat
from conformance.checks._variations import varied_values
from conformance.runner import run_check
from conformance.spec import CheckSpec
from examples.broken_layers import serialization as broken
from keras_compat import keras, register_serializable

CHECK = "check_config_keeps_non_default_kwargs"


def _parameter(name, default, annotation=inspect.Parameter.empty):
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


@pytest.mark.parametrize("name, default, expected", [
    ("center", True, [False]),
    ("units", 4, [8, 5]),
    ("index", 0, [1]),
    ("axis", -1, [-2]),
    ("strides", (1, 1), [(2, 2), (2, 2)]),
    ("rate", 0.0, [0.25]),
    ("epsilon", 1e-3, [5e-4]),
    ("activation", "linear", ["relu"]),
    ("activation", "relu", ["linear"]),
    ("padding", "valid", ["same"]),
    ("kernel_initializer", "glorot_uniform", ["ones"]),
    ("gamma_initializer", "ones", ["zeros"]),
    ("data_format", "channels_last", ["channels_first"]),
])
def test_values_away_from_the_default(name, default, expected):
    assert varied_values(name, _parameter(name, default)) == (expected, None)


@pytest.mark.parametrize("name, default, reason", [
    ("seed", None, "default None"),
    ("rope_type", "linear", "no known alternative"),  # "linear" is an activation only by name
    ("mode", "fast", "no known alternative"),
    ("function", len, "builtin_function_or_method default"),
])
def test_defaults_not_varied_say_why(name, default, reason):
    values, why = varied_values(name, _parameter(name, default))
    assert values == [] and reason in why


def test_a_literal_annotation_gives_the_choices():
    annotation = typing.Optional[typing.Literal["mean", "max", "sum"]]
    assert varied_values("reduction", _parameter("reduction", "mean", annotation)) == (["max"], None)


def test_broken_layers_pass_the_check_at_their_given_kwargs():
    """The argument each loses is at its default, so only the new check sees it."""
    for cls, kwargs, inputs in broken.BROKEN[CHECK]:
        result = run_check("check_config_keeps_kwargs", CheckSpec(cls, inputs=inputs, kwargs=kwargs))
        assert result.status in ("passed", "skipped"), result.message


def test_the_failure_names_the_argument_the_value_and_what_the_config_held():
    result = run_check(CHECK, CheckSpec(broken.UseBiasLeftOutOfConfig, [(4, 7)], {"units": 3}))
    assert result.status == "failed"
    assert "use_bias=False" in result.seen and "no 'use_bias' key" in result.seen
    assert "use_bias=True" in result.seen  # what from_config rebuilds
    result = run_check(CHECK, CheckSpec(broken.EpsilonSavedAsDefault, [(4, 7)]))
    assert result.status == "failed" and "epsilon=0.0005" in result.seen and "the default 0.001" in result.seen


@pytest.mark.parametrize("cls, kwargs, inputs", [
    (keras.layers.Dense, {"units": 4}, [(3, 7)]),
    (keras.layers.Conv2D, {"filters": 4, "kernel_size": 3}, [(2, 8, 8, 3)]),
    (keras.layers.BatchNormalization, {}, [(3, 7)]),
    (keras.layers.LayerNormalization, {}, [(2, 5, 3)]),
])
def test_keras_layers_pass_and_list_what_was_varied(cls, kwargs, inputs):
    result = run_check(CHECK, CheckSpec(cls, inputs=inputs, kwargs=kwargs))
    if cls is keras.layers.BatchNormalization and compat.BATCH_NORMALIZATION_CONFIG_DROPS_SYNCHRONIZED:
        assert result.status == "failed" and "synchronized=True: no 'synchronized' key" in result.seen
        return
    assert result.status == "passed", result.message
    assert "varied one at a time:" in result.note
    assert all(f"{name}=" not in result.note.split(";")[0] for name in kwargs)  # given: left alone


@register_serializable(package="test_config_non_default")
class FoldedUnits(keras.layers.Layer):
    """Correct: ``units`` lives on in the sublayer's config, not under its own key."""

    def __init__(self, units=4, dense=None, **kwargs):
        super().__init__(**kwargs)
        self.dense = dense if isinstance(dense, keras.layers.Layer) else (
            keras.layers.deserialize(dense) if dense else keras.layers.Dense(units))

    def call(self, inputs):
        return self.dense(inputs)

    def get_config(self):
        return {**super().get_config(), "dense": keras.layers.serialize(self.dense)}


@register_serializable(package="test_config_non_default")
class PickyConstructor(keras.layers.Layer):
    """Correct: refuses an even width, and keeps both arguments."""

    def __init__(self, width=3, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        if width % 2 == 0:
            raise ValueError("width must be odd")
        self.width, self.scale = width, scale

    def call(self, inputs):
        return inputs * self.scale

    def get_config(self):
        return {**super().get_config(), "width": self.width, "scale": self.scale}


def test_an_argument_kept_under_another_key_passes():
    result = run_check(CHECK, CheckSpec(FoldedUnits, [(3, 7)]))
    assert result.status == "passed", result.message
    assert "units=8" in result.note


def test_a_value_the_constructor_refuses_is_listed_not_blamed():
    result = run_check(CHECK, CheckSpec(PickyConstructor, [(3, 7)]))
    assert result.status == "passed", result.message
    assert "scale=0.5" in result.note and "width (could not vary:" in result.note
    assert "6: ValueError: width must be odd; 4: ValueError" in result.note


@register_serializable(package="test_config_non_default")
class FlagStoredAsMethod(keras.layers.Layer):
    """Broken like keras_rs's Retrieval: get_config() stores a bound method for a bool."""

    def __init__(self, return_scores=True, **kwargs):
        super().__init__(**kwargs)
        self.return_scores = return_scores

    def scores(self):
        return self.return_scores

    def call(self, inputs):
        return (inputs, inputs) if self.return_scores else inputs

    def get_config(self):
        return {**super().get_config(), "return_scores": self.scores}


def test_a_value_the_rebuilt_instance_does_not_hold_fails():
    result = run_check(CHECK, CheckSpec(FlagStoredAsMethod, [(3, 7)]))
    assert result.status == "failed"
    assert "return_scores=False" in result.seen and "attribute return_scores" in result.seen


def test_nothing_to_vary_skips_and_says_what_was_given():
    result = run_check(CHECK, CheckSpec(broken.UnitsSavedUnderOtherKey, [(3, 7)], {"units": 3}))
    assert result.status == "skipped" and "given: units" in result.message


def test_a_layer_without_arguments_of_its_own_skips():
    result = run_check(CHECK, CheckSpec(keras.layers.Add, [(3, 4), (3, 4)]))
    assert result.status == "skipped"



@pytest.mark.skipif(not compat.CATEGORY_ENCODING_CONFIG_DROPS_SPARSE, reason="this Keras keeps sparse")
def test_keras_category_encoding_loses_sparse():
    """A real Keras 3 defect, found by this check (an expected failure of the known-good target)."""
    spec = CheckSpec(keras.layers.CategoryEncoding, inputs=["3,4:int32@0..10"],
                     kwargs={"num_tokens": 10, "output_mode": "multi_hot"})
    result = run_check(CHECK, spec)
    assert result.status == "failed" and "sparse=True: no 'sparse' key" in result.seen


@register_serializable(package="test_config_non_default")
class RateStoredInverted(keras.layers.Layer):
    """Broken: stores 1 / rate, which from_config refuses for a rate of 0.25 (4 > 1)."""

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        if not 0 < rate <= 1:
            raise ValueError(f"rate must be in (0, 1], got {rate}")
        self.rate = rate

    def call(self, inputs):
        return inputs * self.rate

    def get_config(self):
        return {**super().get_config(), "rate": 1.0 / self.rate}


def test_from_config_failing_at_a_varied_value_names_the_argument():
    result = run_check(CHECK, CheckSpec(RateStoredInverted, [(3, 7)], {}))
    assert result.status == "failed"
    assert result.seen.startswith("rate=0.25: expected cls.from_config(layer.get_config()) to rebuild")
