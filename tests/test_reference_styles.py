"""Every pair of API styles of one reference computes the same function with the same weights."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

import reference_models
from conformance.tensors import max_abs_diff
from reference_models.transfer import copy_weights, randomize_weights

STYLE_PAIRS = [
    pytest.param(name, a, b, id=f"{name}-{a}-vs-{b}")
    for name in reference_models.names()
    for a, b in itertools.combinations(reference_models.get(name).styles, 2)
]
TOLERANCE = 1e-5


def _outputs_and_gradients(obj, inputs):
    inputs = [tf.constant(x) for x in (inputs if isinstance(inputs, list) else [inputs])]
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = obj(inputs[0] if len(inputs) == 1 else inputs, training=False)
        outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        loss = tf.add_n([tf.reduce_sum(tf.square(out)) for out in outputs])
    grads = tape.gradient(loss, list(obj.trainable_weights) + inputs)
    return outputs, grads


@pytest.mark.parametrize("name, style_a, style_b", STYLE_PAIRS)
def test_styles_agree_on_outputs_gradients_and_parameter_counts(name, style_a, style_b):
    ref = reference_models.get(name)
    first, second = ref.build(style_a), ref.build(style_b)
    randomize_weights(first, seed=11)
    copy_weights(first, second)

    assert first.count_params() == second.count_params()
    assert len(first.trainable_weights) == len(second.trainable_weights)
    assert len(first.non_trainable_weights) == len(second.non_trainable_weights)

    inputs = ref.example_inputs(seed=7)
    out_a, grads_a = _outputs_and_gradients(first, inputs)
    out_b, grads_b = _outputs_and_gradients(second, inputs)
    assert max_abs_diff(out_a, out_b) <= TOLERANCE
    for index, (ga, gb) in enumerate(zip(grads_a, grads_b)):
        assert (ga is None) == (gb is None), f"gradient {index} exists in only one style"
        if ga is not None:
            np.testing.assert_allclose(np.asarray(ga), np.asarray(gb), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", reference_models.names())
def test_copying_weights_really_changes_the_function(name):
    """Guards the test above: two fresh instances differ until weights are copied."""
    ref = reference_models.get(name)
    first, second = ref.build(), ref.build()
    if not first.weights:
        pytest.skip(f"{name} has no weights to copy")
    randomize_weights(first, seed=5)
    inputs = ref.example_inputs(seed=3)
    assert max_abs_diff(first(inputs, training=False), second(inputs, training=False)) > 0
    copy_weights(first, second)
    assert max_abs_diff(first(inputs, training=False), second(inputs, training=False)) == 0


def test_copy_weights_names_the_first_mismatch():
    small = reference_models.get("simple_dense").build(units=3)
    large = reference_models.get("simple_dense").build(units=4)
    with pytest.raises(ValueError, match=r"trainable weight 0 is \(16, 3\) in source, \(16, 4\)"):
        copy_weights(small, large)
