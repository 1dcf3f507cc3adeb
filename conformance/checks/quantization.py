"""Quantization: a target whose sublayers Keras can quantize survives ``model.quantize()``.

Keras 3 quantizes a built model after training: ``model.quantize("int8")`` walks its
layers and quantizes each one that has no sublayers and implements ``quantize`` (Dense,
EinsumDense, Embedding, or a user layer implementing it); the others are left as they are.
The target is quantized the same way, inside the model that holds it.
"""

import json
import os
import warnings

import numpy as np

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import forward, run_step
from conformance.isolation import scratch_dir
from conformance.outcomes import NotApplicable, expect
from conformance.tensors import mismatch

#: int8: each kernel column (output channel) is rounded to steps of 1/127 of its largest
#: magnitude, and each input row (token) likewise on every call, so each rounding is off
#: by at most 1/254 of that largest value; the errors of a sum come with random signs.
#: Measured on keras.layers.Dense(4) over 7 standard-normal inputs: 1.3% of the largest
#: output; on MultiHeadAttention (four quantized projections and a softmax): 1.1%. The
#: bound allows a few quantized layers in a chain; a lost scale (the int8 values read as
#: numbers) is off by a factor of ~100.
_INT8_TOLERANCE = 0.05
#: Smallest output magnitude the relative bound is taken of (an all-zero output).
_FLOOR = 1e-3
#: Relative tolerance for "the same outputs" from the same quantized weights.
_SAME = 1e-5
#: How a policy that quantizes is written in a serialized config (Keras 3.15).
_QUANTIZED_POLICY_NAMES = ("QuantizedDTypePolicy", "QuantizedFloat8DTypePolicy", "GPTQDTypePolicy",
                           "AWQDTypePolicy", "Int4DTypePolicy")
_HINT = ("read a quantized sublayer's weights only by calling it: after quantize('int8') its "
         "kernel (embeddings) holds int8 values and the scale is a separate variable "
         "(kernel_scale, embeddings_scale)")


def _leaves(model):
    """The layers of ``model`` that Keras's ``quantize`` quantizes: those without sublayers
    that implement ``quantize``, the target itself included, built (a sublayer never
    called has no weights to quantize)."""
    layers = [model] + compat.sublayers(model)
    return [layer for layer in layers
            if not compat.sublayers(layer) and compat.implements_quantize(layer) and layer.built]


def _describe(layers):
    return ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in layers)


def _quantized(spec, mode, seed=1):
    """``(model, quantized layers, inputs, float outputs)``: the target built in a model,
    its float outputs on ``inputs``, then the model quantized in ``mode``. Not applicable
    (with the reason) when Keras cannot quantize here or quantizes nothing in it."""
    unavailable = compat.quantization_unavailable()
    if unavailable:
        raise NotApplicable(unavailable)
    model = spec.model_of(spec.built())
    candidates = _leaves(model)
    if not candidates:
        raise NotApplicable("nothing in the target is quantizable: no Dense, EinsumDense or "
                            "Embedding sublayer, nor a layer implementing quantize()")
    x = spec.draw(seed=seed)
    expected = forward(spec, model, x)
    with warnings.catch_warnings(record=True) as refusals:
        warnings.simplefilter("always")
        run_step(f"model.quantize({mode!r}) to quantize {_describe(candidates)}",
                 compat.quantize_layers, model, mode, candidates)
    done = [layer for layer in candidates if compat.quantization_mode(layer) == mode]
    if not done:
        why = "; ".join(sorted({str(w.message) for w in refusals if w.category is UserWarning}))
        raise NotApplicable(f"Keras's quantize({mode!r}) quantized none of {_describe(candidates)}"
                            + (f" ({why})" if why else "")
                            + "; it quantizes Dense, EinsumDense and Embedding themselves, not "
                              "subclasses of them that do not implement quantize()")
    return model, done, x, expected


@contract("quantization", skipped_by=("stochastic_inference",))
def check_quantized_outputs_close(spec):
    """Quantized with ``model.quantize("int8")``, the target still runs and its floating-point outputs stay within 5% of each one's largest float magnitude (int8's rounding error)."""
    model, done, x, expected = _quantized(spec, "int8")
    seen = run_step(f"the model to run after quantize('int8') quantized {_describe(done)}",
                    forward, spec, model, x)
    problems = []
    for index, (before, after) in enumerate(zip(expected, seen)):
        if not np.issubdtype(before.dtype, np.floating):
            continue  # an index or a count may flip where two float values were close
        difference = mismatch([before], [after], _INT8_TOLERANCE, floor=_FLOOR)
        if difference:
            problems.append(f"output {index}: {difference}")
    if len(expected) != len(seen):
        problems.insert(0, f"{len(seen)} outputs, not {len(expected)}")
    expect(not problems,
           f"outputs within {_INT8_TOLERANCE:.0%} of each float output's largest magnitude after "
           f"int8 quantization of {_describe(done)} (int8 keeps each weight, and each input of a "
           "Dense or EinsumDense, in steps of 1/127 of its channel's largest magnitude)",
           "; ".join(problems), hint=_HINT)


def _recorded_policies(model):
    """How many quantized dtype policies ``model``'s config records (a quantized layer's
    own ``dtype``, or the entries of a DTypePolicyMap)."""
    text = json.dumps(model.get_config(), default=compat.keras_json_default)
    return sum(text.count(f'"{name}"') for name in _QUANTIZED_POLICY_NAMES)


def _modes(model):
    """``[(layer name, quantization mode)]`` of the layers ``quantize`` visits, in its order
    (names differ between copies; the order does not)."""
    return [(layer.name, compat.quantization_mode(layer)) for layer in _leaves(model)]


def _weights_round_trip(spec, model, x, expected):
    """The quantized weights saved to ``.weights.h5`` and loaded into a fresh copy quantized
    the same way: it must take them and give the same outputs."""
    path = os.path.join(scratch_dir(), "quantized" + compat.WEIGHTS_SUFFIX)
    run_step("save_weights() to write the quantized weights", compat.save_weights, model, path)
    fresh, _, _, _ = _quantized(spec, "int8", seed=2)
    run_step("load_weights() of the quantized weights into a copy quantized alike",
             compat.load_weights, fresh, path)
    return fresh, run_step("the copy to run with the loaded weights", forward, spec, fresh, x)


@contract("quantization", tier="full", skipped_by=("stochastic_inference",))
def check_quantized_save_load(spec):
    """An int8-quantized copy saves and loads with its quantization and the same outputs: as a ``.keras`` file in safe mode where its config records the quantization, else as ``.weights.h5`` into a copy quantized alike."""
    model, done, x, _ = _quantized(spec, "int8")
    expected = run_step("the quantized model to run", forward, spec, model, x)
    if _recorded_policies(model) >= len(done):
        path = os.path.join(scratch_dir(), "quantized" + compat.MODEL_SUFFIX)
        run_step("model.save() to write the quantized model", compat.save_model, model, path)
        loaded = run_step("load_model() to rebuild the quantized model in safe mode (its config "
                          f"records int8 for {_describe(done)})", compat.load_model, path)
        how = "the .keras file"
    else:
        # Keras records a quantized policy only in the quantized layer's own config (or a
        # DTypePolicyMap the target is built with); sublayers a layer makes itself, as
        # MultiHeadAttention does, are rebuilt float from a .keras file whatever the layer does.
        loaded, _ = _weights_round_trip(spec, model, x, expected)
        how = "the .weights.h5 file"
    before, after = _modes(model), _modes(loaded)
    lost = [f"{name} ({mode} -> {seen[1] if seen else 'missing'})"
            for (name, mode), seen in zip(before, after + [None] * len(before)) if seen is None or seen[1] != mode]
    expect(not lost, f"the layers quantized before saving to be quantized alike after loading {how}",
           lambda: "; ".join(lost),
           hint="a layer implementing quantize() must build its quantized variables when its dtype "
                "policy is quantized (Keras calls quantized_build() for it)")
    seen = run_step(f"the model loaded from {how} to run", forward, spec, loaded, x)
    difference = mismatch(expected, seen, _SAME)
    expect(not difference, f"the quantized model's outputs from {how}", difference)
