"""Comparisons measured in one run, each group against the baseline a user would pick."""

import numpy as np
import pytest
import tensorflow as tf

import reference_models
from benchmarks import forms, plain_ops
from benchmarks.timing import devices, measure
from keras_compat import keras, tf_variable
from reference_models import FUNCTIONAL, SUBCLASSED
from reference_models.layers import custom_dense, my_custom_layer
from reference_models.transfer import copy_weights

#: Custom dense layers of the notes and the built-in layer each one re-implements.
BUILTIN_DENSE = {
    "simple_dense": lambda units, **_: keras.layers.Dense(units),
    "custom_dense": lambda units, **_: custom_dense.builtin_equivalent(units),
    "my_custom_layer": lambda units, **_: my_custom_layer.builtin_equivalent(units),
}
RESIDUAL_BLOCKS = ("cnn_residual", "dnn_residual", "identity_block")
COMPARED_MODES = (forms.EAGER, forms.GRAPH)


def _cases(names, sides, modes=COMPARED_MODES):
    """(name, batch, mode, side) for every combination, the first side of each group
    marked ``quick``."""
    return [
        pytest.param(
            name, batch, mode, side, id=f"{name}-batch{batch}-{mode}-{side}",
            marks=[pytest.mark.quick] if side == sides[0] else [],
        )
        for name in names
        for batch in forms.BATCH_SIZES
        for mode in modes
        for side in sides
    ]


@pytest.fixture(scope="module")
def dense_pairs():
    """name -> device -> (custom layer, built-in Dense with the custom layer's weights)."""
    built = {}

    def get(name, device):
        if (name, device) not in built:
            reference = reference_models.get(name)
            with forms.device_scope(device):
                custom = forms.forward_forms(name, device)[SUBCLASSED]
                builtin = BUILTIN_DENSE[name](**reference.kwargs())
                builtin.build(reference.shapes()[0])
                copy_weights(custom, builtin)
            built[name, device] = custom, builtin
        return built[name, device]

    return get


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "name, batch, mode, side", _cases(sorted(BUILTIN_DENSE), ("custom", "keras.layers.Dense"))
)
def test_custom_dense_vs_builtin(benchmark, dense_pairs, name, batch, mode, side, device):
    custom, builtin = dense_pairs(name, device)
    layer = custom if side == "custom" else builtin
    inputs = forms.inputs_for(name, batch, device)
    np.testing.assert_allclose(builtin(inputs), custom(inputs), rtol=1e-5, atol=1e-5)
    measure(
        benchmark, forms.forward(layer, mode), inputs,
        group=f"custom {name} vs keras.layers.Dense, batch {batch}, {mode}, {device}",
        device=device, comparison="custom vs built-in Dense", reference=name, batch=batch,
        mode=mode, side=side, baseline=side != "custom",
    )


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "name, batch, mode, side", _cases(RESIDUAL_BLOCKS, ("custom block", "built-in layers"))
)
def test_residual_block_vs_builtin_layers(benchmark, name, batch, mode, side, device):
    """The subclassed block against its Functional form: the same convolutions or Dense
    layers and an ``Add``, all built-in layers, with the same weights."""
    model = forms.forward_forms(name, device)[SUBCLASSED if side == "custom block" else FUNCTIONAL]
    measure(
        benchmark, forms.forward(model, mode), forms.inputs_for(name, batch, device),
        group=f"residual {name} vs the same computation from built-in layers, batch {batch}, "
        f"{mode}, {device}",
        device=device, comparison="residual block vs built-in layers", reference=name,
        batch=batch, mode=mode, side=side, baseline=side != "custom block",
    )


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "name, batch, mode, side",
    _cases(sorted(plain_ops.PLAIN), ("keras", "plain tf ops"), modes=(forms.GRAPH,)),
)
def test_framework_overhead(benchmark, name, batch, mode, side, device):
    """The Keras model against its arithmetic as plain TF ops, both in one tf.function."""
    model = forms.forward_forms(name, device)[SUBCLASSED]
    inputs = forms.inputs_for(name, batch, device)
    plain = plain_ops.PLAIN[name]([tf_variable(w) for w in model.trainable_weights])
    np.testing.assert_allclose(plain(inputs), model(inputs), rtol=1e-4, atol=1e-5)
    fn = forms.forward(model, mode) if side == "keras" else tf.function(plain, autograph=False)
    measure(
        benchmark, fn, inputs,
        group=f"framework overhead {name}, batch {batch}, {device}: Keras vs plain TF ops "
        "(both one tf.function)",
        device=device, comparison="framework overhead", reference=name, batch=batch,
        mode=mode, side=side, baseline=side != "keras",
    )


#: Square matrix size for the throughput group: large enough for the matmul to run near
#: the device's peak, small enough to time in a second on two CPU cores. The matmul is also
#: timed at twice the size, and the faster of the two is taken as the device's peak.
PEAK_SIZE = {"cpu": 1024, "gpu": 8192}
PEAK_CASES = [
    ("keras.layers.Dense", 1), ("simple_dense", 1), ("custom_dense", 1),
    ("tf.linalg.matmul", 1), ("tf.linalg.matmul", 2),
]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "computation, scale",
    [pytest.param(c, k, id=f"{c}-x{k}", marks=[pytest.mark.quick] if i == 0 else [])
     for i, (c, k) in enumerate(PEAK_CASES)],
)
def test_dense_fraction_of_matmul_peak(benchmark, computation, scale, device):
    """An n x n batch through a Dense of n units: 2 n^3 FLOPs, the same as one n x n
    matmul, which measures what this device can reach. The report divides the two."""
    n = PEAK_SIZE[device] * scale
    rng = np.random.default_rng(0)
    with forms.device_scope(device):
        x = tf.constant(rng.standard_normal((n, n)).astype("float32"))
        if computation == "tf.linalg.matmul":
            w = tf.Variable(rng.standard_normal((n, n)).astype("float32"))
            fn = tf.function(lambda x: tf.linalg.matmul(x, w), autograph=False)
        else:
            if computation == "keras.layers.Dense":
                layer = keras.layers.Dense(n)
            else:
                layer = reference_models.get(computation).cls(units=n)
            layer.build((n, n))
            fn = forms.forward(layer, forms.GRAPH)
    measure(
        benchmark, fn, x,
        group=f"peak FLOP/s, {device}: {PEAK_SIZE[device]}-wide Dense forward vs this device's "
        "matmul",
        device=device, comparison="fraction of matmul peak", side=f"{computation} {n}x{n}",
        flops=2 * n**3, baseline=computation == "tf.linalg.matmul",
    )
