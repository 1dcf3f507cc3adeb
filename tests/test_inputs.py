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


# -- marks: what else an input is ------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2,5:float32!mask", TensorInput((2, 5), mask=True)),
    ("padding_mask=2,5:int32!mask", TensorInput((2, 5), "int32", "padding_mask", mask=True)),
    ("m=2,5:bool!mask_of=encoder", TensorInput((2, 5), "bool", "m", mask=True, mask_of="encoder")),
    ("table=5,4!unbatched", TensorInput((5, 4), name="table", batched=False)),
    ("gate=1,1,4!broadcast", TensorInput((1, 1, 4), name="gate", batched=False)),
    ("2,5,10!onehot", TensorInput((2, 5, 10), onehot=True)),
    ("inputs.0=2,5!tuple", TensorInput((2, 5), name="inputs.0", as_tuple=True)),
])
def test_marks_parse_and_print_back(text, expected):
    parsed = parse_input(text)
    assert parsed == expected
    assert parse_input(parsed.text()) == parsed


@pytest.mark.parametrize("text, words", [
    ("2,5!nope", "unknown mark"), ("2,5!mask_of", "takes the input"), ("2,5!mask=1", "no value"),
    ("2,5!broadcast", "batch of 1"), ("2,5:float32@0..1!mask", "no @LOW..HIGH"),
    ("2,5:bool!onehot", "float or integer"), ("2,5!mask!onehot", "not both"),
])
def test_bad_marks_are_one_line_errors(text, words):
    with pytest.raises(InputError, match=words) as caught:
        parse_input(text)
    assert "\n" not in str(caught.value)


def test_masks_in_a_number_dtype_are_zero_one_padding_masks():
    values = CallInputs(["3,5,2", "a=3,5:float32!mask", "b=3,5:int32!mask"]).draw(seed=0)
    for key, dtype in (("a", np.float32), ("b", np.int32)):
        assert values[key].dtype == dtype and set(np.unique(values[key])) <= {0, 1}
        assert values[key][:, 0].all()  # every row keeps its first step
    inputs = CallInputs(["3,5,2", "a=3,5:float32!mask"])
    assert inputs.float_keys == ["input_0"]  # a float mask is not perturbed as data
    assert [r.mask for r in inputs.mask_roles()] == ["a"]


def test_mask_of_says_what_a_mask_governs_when_its_name_does_not():
    inputs = CallInputs(["decoder_sequence=2,3,4", "encoder_sequence=2,5,4",
                         "encoder_padding_mask=2,5:bool!mask_of=encoder_sequence"])
    (role,) = inputs.mask_roles()
    assert role.governs == ("encoder_sequence",)
    with pytest.raises(InputError, match="names no input"):
        CallInputs(["x=2,5,4", "m=2,5:bool!mask_of=y"])


def test_unbatched_inputs_are_constants_never_sliced_or_rebatched():
    inputs = CallInputs(["4,5,3", "table=5,3!unbatched", "gate=1,1,3!broadcast"])
    assert inputs.batch_size == 4 and inputs.batched_keys == ["input_0"]
    first, other = inputs.draw(seed=0), inputs.draw(batch_size=7, seed=9, scale=1e3)
    assert other["input_0"].shape == (7, 5, 3)
    assert np.array_equal(first["table"], other["table"]) and other["gate"].shape == (1, 1, 3)
    taken = inputs.slice_batch(first, [2, 0])
    assert taken["input_0"].shape[0] == 2 and np.array_equal(taken["table"], first["table"])
    assert inputs.draw(batch_size=2)["table"].shape == (5, 3)
    assert set(inputs.model_structure(first)) == {"input_0"} and inputs.float_keys == ["input_0"]
    assert inputs.tensor_specs()["table"].shape.as_list() == [5, 3]
    with pytest.raises(InputError, match="at least one input"):
        CallInputs(["table=5,3!unbatched"])


def test_a_wrapper_model_holds_unbatched_inputs_as_constants():
    inputs = CallInputs(["x=4,5,3", "y=5,3!unbatched"])

    class Add(keras.layers.Layer):
        def call(self, x, y):
            return x + y

    model = inputs.wrap(Add())
    values = inputs.draw(seed=1)
    np.testing.assert_allclose(np.asarray(model(inputs.model_structure(values))),
                               values["x"] + values["y"], rtol=1e-6)


def test_one_hot_inputs_hold_one_one_per_row():
    values = CallInputs(["3,5,7!onehot"]).draw(seed=0)["input_0"]
    assert values.dtype == np.float32 and np.array_equal(values.sum(-1), np.ones((3, 5)))
    edges = CallInputs(["3,5,7:int32!onehot"]).edge_values()["input_0"]
    assert edges.dtype == np.int32 and set(np.argmax(edges, -1).ravel()) == {0, 6}
    assert CallInputs(["3,5,7!onehot"]).float_keys == []


def test_tuple_marks_pass_a_tuple_not_a_list():
    inputs = CallInputs(["inputs.0=2,3!tuple", "inputs.1=2,4!tuple"])
    args, kwargs = inputs.arguments({key: key for key in inputs.keys})
    assert kwargs == {"inputs": ("inputs.0", "inputs.1")}
    args, _ = CallInputs(["2,3!tuple", "2,4!tuple"]).arguments({"input_0": 0, "input_1": 1})
    assert args == [(0, 1)]
    with pytest.raises(InputError, match="or none"):
        CallInputs(["inputs.0=2,3!tuple", "inputs.1=2,4"])


def test_keyword_inputs_arrive_as_tensors():
    import tensorflow as tf

    seen = {}

    class ReadsKeyShape(keras.layers.Layer):
        def call(self, query, key):
            seen["key"] = key
            return query * float(key.shape.as_list()[1])

    inputs = CallInputs(["query=2,3", "key=2,5"])
    inputs.call(ReadsKeyShape(), inputs.draw(seed=0))
    assert tf.is_tensor(seen["key"]) and not isinstance(seen["key"], np.ndarray)


def test_the_first_argument_is_the_positional_inputs_else_the_first_parameter_given_by_name():
    positional = CallInputs(["3,7", "mask=3,7:bool"])
    assert positional.first_argument_keys("inputs") == ["input_0"]
    assert not positional.first_argument_only("inputs")  # the mask is a second argument
    by_name = CallInputs(["inputs.ids=3,7:int32@0..9", "inputs.mask=3,7:bool", "cache=3,2"])
    assert by_name.first_argument_keys("inputs") == ["inputs.ids", "inputs.mask"]
    assert by_name.first_argument_keys("query") == []
    whole = CallInputs(["query=2,5,8"])
    assert whole.first_argument_keys("query") == ["query"] and whole.first_argument_only("query")
