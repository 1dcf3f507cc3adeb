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
#: by at most 1/254 of that largest value; the errors of a sum come with random signs, and
#: a chain of quantized layers adds them up. Measured as the root-mean-square difference
#: over the float output's root-mean-square (seeds 0 and 1): keras.layers.Dense 0.5%,
#: MultiHeadAttention 0.8%, KerasHub's TransformerDecoder (10 quantized layers) 0.8%,
#: SAMMaskDecoder (35) 2.5%, where its largest single difference reaches 15% of the
#: output's largest magnitude (a max bound would fail it). A lost scale (the int8 values
#: read as numbers) is off by a factor of ~100.
_INT8_TOLERANCE = 0.10
#: Smallest root-mean-square the relative bound is taken of (an all-zero output).
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
    """The layers by name and class, or by count per class when there are many."""
    if len(layers) <= 3:
        return ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in layers)
    counts = {}
    for layer in layers:
        counts[type(layer).__name__] = counts.get(type(layer).__name__, 0) + 1
    return f"{len(layers)} layers (" + ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) + ")"


def _quantized(spec, mode, seed=1):
    """``(model, quantized layers, inputs, float outputs)``: the target built in a model,
    its float outputs on ``inputs``, then the model quantized in ``mode``. Not applicable
    (with the reason) when Keras cannot quantize here or quantizes nothing in it."""
    unavailable = compat.quantization_unavailable()
    if unavailable:
        raise NotApplicable(unavailable)
    instance = spec.built()
    candidates = _leaves(instance)  # before wrapping it: a model adds nothing quantizable
    if not candidates:
        raise NotApplicable("nothing in the target is quantizable: no Dense, EinsumDense or "
                            "Embedding sublayer, nor a layer implementing quantize()")
    model = spec.model_of(instance)
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


def _rms(array):
    return float(np.sqrt(np.mean(np.square(array.astype("float64"))))) if array.size else 0.0


def _quantization_error(before, after):
    """How far one float output moved under quantization, or None when it is within
    :data:`_INT8_TOLERANCE`: the root-mean-square difference over the float output's."""
    if before.shape != after.shape:
        return f"shape {after.shape} instead of {before.shape}"
    finite = np.isfinite(before)  # masked logits of -inf where declared non_finite_outputs
    if not np.array_equal(np.isfinite(after), finite):
        return f"{int(np.sum(np.isfinite(after) != finite))} values finite in one and not the other"
    before, after = before[finite], after[finite]
    scale = max(_rms(before), _FLOOR)
    difference = _rms(after - before)
    if difference <= _INT8_TOLERANCE * scale:
        return None
    return (f"a root-mean-square difference of {difference:.3g}, {difference / scale:.0%} of the float "
            f"output's root-mean-square {scale:.3g}")


@contract("quantization", skipped_by=("stochastic_inference",))
def check_quantized_outputs_close(spec):
    """Quantized with ``model.quantize("int8")``, the target still runs and each floating-point output stays within int8's rounding error of the float one (a root-mean-square difference within 10% of the output's)."""
    model, done, x, expected = _quantized(spec, "int8")
    seen = run_step(f"the model to run after quantize('int8') quantized {_describe(done)}",
                    forward, spec, model, x)
    problems = [f"{len(seen)} outputs, not {len(expected)}"] if len(expected) != len(seen) else []
    for index, (before, after) in enumerate(zip(expected, seen)):
        if not np.issubdtype(before.dtype, np.floating):
            continue  # an index or a count may flip where two float values were close
        error = _quantization_error(before, after)
        if error:
            problems.append(f"output {index}: {error}")
    expect(not problems,
           f"each float output within {_INT8_TOLERANCE:.0%} (root-mean-square) of the float model's "
           f"after int8 quantization of {_describe(done)}: int8 keeps each weight, and each input "
           "of a Dense or EinsumDense, in steps of 1/127 of its channel's largest magnitude",
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


def _weights_round_trip(spec, model, x):
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
        loaded, _ = _weights_round_trip(spec, model, x)
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
