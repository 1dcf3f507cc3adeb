"""Golden: the target computes what its golden file recorded, from the recorded weights and inputs.

The first run (no file yet) and a run with ``update_golden`` record the file and skip, saying
``recorded PATH``. pytest-regressions fails a test whose file it had to create (and with
``--force-regen`` one whose file it rewrote); syrupy fails on a missing snapshot unless
``--snapshot-update`` writes it, and then passes. A skip is neither: nothing was compared, so a
first run in CI is never counted as verified, and a correct layer is never failed for having
no file yet; the reason says what was written (see ``conformance/golden.py`` for the file)."""

import contextlib
import os

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance import golden
from conformance.catalogue import contract
from conformance.checks._common import describe_failure, projection_loss, random_in_training, run_step
from conformance.outcomes import ContractViolation, NotApplicable, expect
from conformance.tensors import flatten_with_paths
from keras_compat import keras

NO_DIRECTORY = "no golden directory given; --golden DIR records and compares outputs"
_RE_RECORD = ("if the change is intended, record the file again: --update-golden, on the "
              "command line or to pytest")
#: The seed of the recorded inputs (the comparison reads them back, it does not draw them).
_INPUT_SEED = 1


def identity(spec):
    """What, besides its label, tells one target's golden file from another's."""
    factory = spec.kwargs_factory
    return {"kwargs": spec.kwargs, "inputs": spec.inputs.texts(), "call_kwargs": spec.call_kwargs,
            "kwargs_factory": factory if factory is None or isinstance(factory, str) else golden._stable(factory)}


def golden_path(spec):
    """Where ``spec``'s golden file is (or goes), or None when no golden directory is given."""
    directory = getattr(spec, "golden", None)
    if not directory:
        return None
    return golden.path_for(os.fspath(directory), spec.label, identity(spec))


def _about():
    backend = getattr(keras.backend, "backend", lambda: "tensorflow")()
    device = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    return {"keras": compat.KERAS_VERSION, "tensorflow": compat.TF_VERSION, "backend": backend,
            "legacy_keras": bool(compat.USES_LEGACY_KERAS), "device": device}


@contextlib.contextmanager
def _full_float32():
    """TensorFloat-32 off while recording and comparing: on a GPU it rounds float32 matmuls to
    10-bit mantissas, so a file recorded there would not match a CPU run within float32's
    tolerance (nor the other way round). Restored afterwards."""
    enabled = tf.config.experimental.tensor_float_32_execution_enabled()
    if enabled:
        tf.config.experimental.enable_tensor_float_32_execution(False)
    try:
        yield
    finally:
        if enabled:
            tf.config.experimental.enable_tensor_float_32_execution(True)


def _dtype(value):
    return compat.dtype_name(value.dtype)


def _entries(pairs):
    return [golden.Entry(str(name), np.array(value), _dtype(value)) for name, value in pairs]


def _precision(dtype, layer):
    """The dtype whose tolerance a float value computed by ``layer`` gets: its own, or the
    layer's compute dtype when that keeps fewer bits (a float32 gradient or output computed
    in bfloat16 carries bfloat16's rounding)."""
    compute = compat.dtype_name(getattr(layer, "compute_dtype", None) or dtype)
    if "float" not in dtype or "float" not in compute:
        return dtype
    return max((dtype, compute), key=golden.relative_tolerance)


def _output_entries(spec, layer, inputs, training):
    """The flat outputs of one call, named by their path in the output structure."""
    outputs = run_step("the target to compute its outputs on the recorded inputs",
                       lambda: spec.call(layer, inputs, training=training))
    return [golden.Entry(entry.name, entry.array, _precision(entry.dtype, layer)) for entry in
            _entries((path or "0", leaf) for path, leaf in flatten_with_paths(outputs) if hasattr(leaf, "dtype"))]


def _gradient_entries(spec, layer, inputs):
    """The gradients of the projection loss (inference call) w.r.t. the trainable weights,
    then the float inputs, named ``weight NAME`` and ``input KEY``."""
    watched = [inputs[key] for key in spec.inputs.float_keys]
    weights = list(layer.trainable_weights)
    with tf.GradientTape() as tape:
        tape.watch(watched)
        loss = projection_loss(spec.call(layer, inputs, training=False), seed=0)
    grads = tape.gradient(loss, weights + watched)
    names = [f"weight {compat.weight_name(w)!r}" for w in weights] + \
            [f"input {key}" for key in spec.inputs.float_keys]
    sources = weights + watched
    return [golden.Entry(name, np.zeros(tuple(source.shape)) if grad is None
                         else np.asarray(tf.convert_to_tensor(grad), dtype="float64"),
                         _precision(_dtype(source), layer))
            for name, grad, source in zip(names, grads, sources)]


def _tensors(entries):
    """Recorded inputs as tensors of their recorded dtypes (bfloat16 is stored as float32)."""
    return {entry.name: tf.cast(tf.convert_to_tensor(entry.array), entry.dtype) for entry in entries}


def _weight_values(layer, entries):
    return [np.asarray(tf.cast(tf.convert_to_tensor(entry.array), _dtype(variable)))
            for entry, variable in zip(entries, layer.weights)]


def _restore(layer, entries):
    layer.set_weights(_weight_values(layer, entries))


def _record(spec, path, reason):
    layer = spec.built()
    weights = _entries((compat.weight_name(w), w) for w in layer.weights)
    drawn = spec.draw(seed=_INPUT_SEED)
    inputs = _entries(drawn.items())
    tensors = spec.inputs.as_tensors(drawn)
    recording = golden.Recording(about={**_about(), "label": spec.label, "not_recorded": []})
    recording.groups.update(inputs=inputs, weights=weights,
                            inference=_output_entries(spec, layer, tensors, False))
    if spec.has_trait("inference_only"):
        recording.about["not_recorded"].append("training outputs and gradients: declared inference_only")
    else:
        _restore(layer, weights)
        if random_in_training(spec, layer):
            recording.about["not_recorded"].append("training outputs: random in training")
        else:
            _restore(layer, weights)
            recording.groups["training"] = _output_entries(spec, layer, tensors, True)
        _restore(layer, weights)
        try:
            recording.groups["gradients"] = _gradient_entries(spec, layer, tensors)
        except Exception as exc:  # noqa: BLE001 - the gradients family reports it; record the rest
            recording.about["not_recorded"].append(f"gradients: {describe_failure(exc)}")
    try:
        golden.write(path, recording)
    except OSError as exc:  # the folder, not the layer: nothing recorded, nothing compared
        raise NotApplicable(f"could not record {path} ({type(exc).__name__}: {exc}); nothing was "
                            "compared on this run") from None
    raise NotApplicable(f"recorded {path} ({reason}); nothing was compared on this run: keep the "
                        "file (commit it) and the next run compares against it")


def _listing(entries):
    return ", ".join(f"{e.name}{tuple(e.array.shape)}" for e in entries) or "no weights"


def _describe_with_versions(recording, path):
    return f"{path}, recorded with {golden.describe_versions(recording.about)}"


def _hint(recording):
    change = golden.version_change(recording.about, _about())
    return f"{change}; {_RE_RECORD}" if change else _RE_RECORD


def _require_same_weights(layer, recording, path):
    recorded = recording.group("weights")
    now = [golden.Entry(compat.weight_name(w), np.zeros(tuple(w.shape)), _dtype(w)) for w in layer.weights]
    same = [(e.name, e.array.shape) for e in recorded] == [(e.name, e.array.shape) for e in now]
    expect(same, f"the weights recorded in {path} (by name, shape and order): {_listing(recorded)}",
           lambda: f"{_listing(now)}: the layer's weights changed since the golden file was recorded",
           hint=_RE_RECORD)


def _require_same_inputs(spec, recording, path):
    recorded = [(e.name, tuple(e.array.shape)) for e in recording.group("inputs")]
    drawn = [(key, tuple(value.shape)) for key, value in spec.draw(seed=_INPUT_SEED).items()]
    expect(recorded == drawn, f"the inputs recorded in {path}: {recorded}",
           f"the target described with inputs {drawn}", hint=_RE_RECORD)


def _require_same_outputs(group, recorded, seen, path):
    names = [e.name for e in recorded], [e.name for e in seen]
    shapes = [tuple(e.array.shape) for e in recorded], [tuple(e.array.shape) for e in seen]
    expect(names[0] == names[1] and shapes[0] == shapes[1],
           f"the {group} outputs recorded in {path}: " + ", ".join(
               f"{n} {s}" for n, s in zip(names[0], shapes[0])),
           ", ".join(f"{n} {s}" for n, s in zip(names[1], shapes[1])) or "no outputs",
           hint=_RE_RECORD)


def _compare(spec, recording, path):
    layer = spec.built()
    _require_same_weights(layer, recording, path)
    _require_same_inputs(spec, recording, path)
    weights = recording.group("weights")
    tensors = _tensors(recording.group("inputs"))
    differences = []
    for group, training in (("inference", False), ("training", True)):
        if not recording.has(group):
            continue
        _restore(layer, weights)
        seen = _output_entries(spec, layer, tensors, training)
        _require_same_outputs(group, recording.group(group), seen, path)
        differences += golden.worst_differences(lambda e, g=group: f"{g} output {e.name!r}",
                                                recording.group(group), [e.array for e in seen])
    if recording.has("gradients"):
        _restore(layer, weights)
        seen = _gradient_entries(spec, layer, tensors)
        names = [e.name for e in recording.group("gradients")]
        expect(names == [e.name for e in seen],
               f"gradients w.r.t. what {path} recorded: {', '.join(names)}",
               ", ".join(e.name for e in seen), hint=_RE_RECORD)
        differences += golden.worst_differences(lambda e: f"the gradient w.r.t. {e.name}",
                                                recording.group("gradients"), [e.array for e in seen])
    if not differences:
        return  # outputs first, then gradients; the worst array of each group first
    seen_text = differences[0].describe()
    if len(differences) > 1:
        seen_text += "; also off: " + ", ".join(d.what for d in differences[1:])
    if any(d.what.startswith("training") for d in differences) and random_in_training(spec, layer):
        seen_text += " (its training outputs are now random; they were deterministic when recorded)"
    raise ContractViolation(f"the outputs and gradients recorded in {_describe_with_versions(recording, path)}",
                            seen_text, hint=_hint(recording))


@contract("golden", skipped_by=("stochastic_inference",))
def check_matches_golden(spec):
    """From the weights and inputs its golden file recorded, the target computes the recorded outputs (in inference, and in training when deterministic) and gradients, within tolerances set by each dtype."""
    path = golden_path(spec)
    if path is None:
        raise NotApplicable(NO_DIRECTORY)
    with _full_float32():
        _record_or_compare(spec, path)


def _record_or_compare(spec, path):
    if getattr(spec, "update_golden", False):
        _record(spec, path, "--update-golden")
    if not os.path.exists(path):
        _record(spec, path, "first run: there was no golden file")
    try:
        recording = golden.read(path)
    except golden.GoldenFileError as exc:
        raise ContractViolation(f"a golden file at {path}", str(exc),
                                hint="delete it, or record it again with --update-golden") from None
    _compare(spec, recording, path)
