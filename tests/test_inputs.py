"""The input model: how inputs are described, parsed, drawn, sliced, placed in the call and
made symbolic."""

import numpy as np
import pytest

from conformance.inputs import CallInputs, InputError, TensorInput, load_structure, padding_mask, \
    parse_input, save_structure
from keras_compat import keras


@pytest.mark.parametrize("text, expected", [
    ("3,7", TensorInput((3, 7))),
    ("query=2,5,8", TensorInput((2, 5, 8), name="query")),
    ("3,6:int32@0..20", TensorInput((3, 6), "int32", low=0, high=20)),
    ("inputs.token_ids=2,5:int32@0..50", TensorInput((2, 5), "int32", "inputs.token_ids", 0, 50)),
    ("inputs.padding_mask=2,5:bool", TensorInput((2, 5), "bool", "inputs.padding_mask")),
    ("2,4:float64@0..", TensorInput((2, 4), "float64", low=0.0)),
    ("2,4@-1.5..2.5", TensorInput((2, 4), low=-1.5, high=2.5)),
    ("mask.1=2,5:bool", TensorInput((2, 5), "bool", "mask.1")),
])
def test_the_text_form_parses_and_prints_back(text, expected):
    parsed = parse_input(text)
    assert parsed == expected
    assert parse_input(parsed.text()) == parsed


def test_integer_inputs_default_to_ids_zero_to_ten():
    assert parse_input("3,6:int64").low == 0 and parse_input("3,6:int64").high == 10
    assert parse_input("3,6:int32@5..").high == 15


@pytest.mark.parametrize("text, words", [
    ("3,x", "shape"), ("-3,6", "positive"), ("3,6:int33", "dtype"), ("3,6@5..1", "empty"),
    ("3,6:bool@0..1", "bool"), ("3,6:int32@0.5..3", "integer"), ("a b=3,6", "expected"),
    ("=3,6", "expected"),
])
def test_bad_descriptions_are_one_line_errors(text, words):
    with pytest.raises(InputError, match=words) as caught:
        parse_input(text)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("items, words", [
    (["2,5", "3,5"], "same batch size"),
    (["query=2,5", "query=2,5"], "given twice"),
    (["inputs=2,5", "inputs.ids=2,5"], "whole and by key"),
    (["mask.0=2,5:bool", "mask.2=2,5:bool"], "0, 1"),
])
def test_inconsistent_inputs_are_refused(items, words):
    with pytest.raises(InputError, match=words):
        CallInputs(items)


def test_call_keywords_cannot_repeat_an_input():
    with pytest.raises(InputError, match="both an input and a call keyword"):
        CallInputs(["query=2,5,8"], call_kwargs={"query": 1})


def test_draws_follow_each_inputs_domain():
    inputs = CallInputs(["3,6:int32@5..9", "3,4@0.5..1.5", "3,6:bool",
                         "3,4:float32@0.."])
    values = inputs.draw(seed=0)
    ids, bounded, mask, positive = values.values()
    assert ids.dtype == np.int32 and ids.min() >= 5 and ids.max() < 9
    assert bounded.min() > 0.5 and bounded.max() < 1.5
    assert mask.dtype == bool and positive.min() > 0


def test_float_dtype_overrides_floats_only():
    values = CallInputs(["3,6:int32", "3,4"]).draw(float_dtype="float64")
    assert [v.dtype for v in values.values()] == [np.int32, np.float64]


def test_padding_masks_are_true_then_false_with_one_true_at_least():
    mask = padding_mask((6, 7), np.random.default_rng(0))
    for row in mask:
        assert row[0] and not np.any(np.diff(row.astype(int)) > 0)
    assert mask[0].all() and not mask[1:].all(axis=1).any()  # the first row whole, the others padded


def test_attention_masks_hide_the_same_keys_from_every_query():
    mask = padding_mask((3, 4, 5), np.random.default_rng(1))
    assert all((row == batch[0]).all() for batch in mask for row in batch)


def test_edge_values_hold_the_first_and_last_id():
    values = CallInputs(["2,3:int32@0..1000"]).edge_values()["input_0"]
    assert values.min() == 0 and values.max() == 999
    small = CallInputs(["4,5:int32@0..7"]).edge_values()["input_0"]
    assert set(small.ravel()) == set(range(7))


def test_slicing_takes_every_input_masks_included():
    inputs = CallInputs(["4,5,3", "mask=4,5:bool"])
    values = inputs.draw(seed=0)
    taken = CallInputs.take(values, [2, 0])
    assert np.array_equal(taken["mask"], values["mask"][[2, 0]])
    assert np.array_equal(taken["input_0"], values["input_0"][[2, 0]])


def test_arguments_put_each_input_where_it_goes():
    inputs = CallInputs(["2,3", "2,4", "query=2,5", "inputs.ids=2,5:int32", "inputs.mask=2,5:bool",
                         "mask.0=2,3:bool", "mask.1=2,4:bool"], call_kwargs={"use_causal_mask": True})
    args, kwargs = inputs.arguments({key: key for key in inputs.keys})
    assert args == [["input_0", "input_1"]]
    assert kwargs == {"query": "query", "inputs": {"ids": "inputs.ids", "mask": "inputs.mask"},
                      "mask": ["mask.0", "mask.1"], "use_causal_mask": True}


def test_symbolic_inputs_keep_dtypes_and_an_unknown_batch():
    symbols = CallInputs(["query=2,5,8", "ids=2,5:int32"]).symbolic()
    assert tuple(symbols["query"].shape) == (None, 5, 8)
    assert "int32" in str(symbols["ids"].dtype)


def test_a_functional_wrapper_takes_keyword_inputs_as_a_dict():
    inputs = CallInputs(["query=2,5,8", "value=2,5,8"])
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    model = inputs.wrap(layer)
    values = inputs.draw(seed=0)
    direct = inputs.call(layer, values)
    through_model = model(inputs.model_structure(values))
    np.testing.assert_allclose(np.asarray(direct), np.asarray(through_model), rtol=1e-5, atol=1e-6)


def test_mask_roles_pair_masks_with_what_they_mask():
    roles = {r.mask: r for r in CallInputs(
        ["query=2,4,8", "value=2,5,8", "key=2,5,8", "attention_mask=2,4,5:bool"]).mask_roles()}
    assert roles["attention_mask"].governs == ("value", "key") and roles["attention_mask"].attention
    roles = {r.mask: r for r in CallInputs(["2,5,3", "mask=2,5:bool"]).mask_roles()}
    assert roles["mask"].governs == ("input_0",)
    roles = {r.mask: r.governs for r in CallInputs(
        ["2,4,3", "2,5,3", "mask.0=2,4:bool", "mask.1=2,5:bool"]).mask_roles()}
    assert roles == {"mask.0": ("input_0",), "mask.1": ("input_1",)}
    roles = {r.mask: r.governs for r in CallInputs(
        ["inputs.token_ids=2,5:int32", "inputs.padding_mask=2,5:bool"]).mask_roles()}
    assert roles == {"inputs.padding_mask": ("inputs.token_ids",)}


@pytest.mark.parametrize("structure", [np.arange(6.0).reshape(2, 3),
                                       [np.zeros((2, 3)), np.ones((2, 1), dtype=np.int32)],
                                       {"query": np.zeros((2, 3)), "mask": np.ones((2, 3), dtype=bool)}])
def test_structures_survive_the_trip_to_another_process(tmp_path, structure):
    path = tmp_path / "inputs.npz"
    save_structure(path, structure)
    loaded = load_structure(path)
    if isinstance(structure, dict):
        assert list(loaded) == list(structure)
        structure, loaded = list(structure.values()), list(loaded.values())
    for want, got in zip(structure if isinstance(structure, list) else [structure],
                         loaded if isinstance(loaded, list) else [loaded]):
        assert np.array_equal(want, got) and want.dtype == got.dtype
