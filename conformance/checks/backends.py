"""Backends: the target gives on Keras's JAX and PyTorch backends what it gives on TensorFlow.

Keras 3 layers written with ``keras.ops`` run unchanged on every backend; a ``tf.*`` op left
in ``call`` or ``compute_mask``, a Python branch on a tensor's value or a NumPy call on a
tensor does not. Each check builds the target here, on TensorFlow, and in a process per
installed backend (:mod:`conformance.backends`: one check host per backend per run, a fresh
child per request, the target imported there by its ``import_path``), hands over the same
weights through a ``.weights.h5`` file and the same inputs, and compares. One check per
contract covers every backend: a failure names the backend (and the other backends' verdict
when they fail too), and, when the child's traceback shows it, the line of the user's code
that failed, saying so when that line calls TensorFlow.

Tolerances: each backend sums in its own order and fuses ops its own way (XLA on JAX), so
float32 results differ by rounding that grows with the computation; differences are
compared with the largest value compared (outputs, gradients, a step's largest update).
"""

import concurrent.futures
import os
import re
import traceback

import numpy as np

import keras_compat as compat
from conformance import backends
from conformance.backends import remote
from conformance.backends.tracebacks import calls_tensorflow, where_it_failed
from conformance.catalogue import contract
from conformance.errors import informative_line
from conformance.checks._common import describe_failure, random_in_training
from conformance.isolation import scratch_dir
from conformance.outcomes import ContractViolation, NotApplicable
from conformance.tensors import magnitude, mismatch, same_up_to_order
from conformance.wrapping import losses_and_targets, trained_outputs

#: Relative tolerance for inference outputs: float32 computed in another order, of the
#: largest output (at least 1).
_OUTPUTS = 1e-4
#: Relative tolerance for gradients, of the largest gradient: each sums products over the
#: batch and every path back (SAM's mask decoder, through transposed convolutions, differs
#: by 1.2e-4 between TensorFlow and PyTorch); a portability defect differs by far more.
_GRADIENTS = 1e-3
#: Tolerance on a weight after a fit step, as a fraction of the largest change the step made
#: to it on TensorFlow, plus float32 rounding of the weight itself.
_OF_UPDATE = 1e-3
_WEIGHT_ROUNDING = 1e-6
#: The fit step's learning rate: large enough to move every weight visibly.
_LEARNING_RATE = 0.05
_DATA_SEED, _PROJECTION_SEED, _TARGET_SEED = 1, 2, 3
_TENSORFLOW_HINT = ("a TensorFlow call (tf.*) inside call() or compute_mask() runs on the TensorFlow backend "
                    "only: use the keras.ops equivalent, which every backend implements; a layer meant for "
                    "TensorFlow only declares it: --trait tensorflow_only")
_PORTABLE_HINT = ("use keras.ops (not tf.*, NumPy or Python control flow on tensor values) in call() and "
                  "compute_mask(), so that every backend computes the same thing; a layer meant for "
                  "TensorFlow only declares it: --trait tensorflow_only")


def _start(spec):
    if compat.other_backends_unavailable() is None and spec.import_path is not None:
        backends.prestart()


def _runnable(spec):
    """``(payload, backends to run)``, or :class:`NotApplicable` saying why none can run."""
    reason = compat.other_backends_unavailable()
    if reason:
        raise NotApplicable(reason)
    if spec.import_path is None:
        raise NotApplicable("runs the target in a process per backend, which imports it: give the spec an "
                            "import_path (the command line does)")
    try:
        payload = spec.to_payload()
    except ValueError as exc:
        raise NotApplicable(f"the target cannot be sent to the backends' processes: {exc}") from exc
    runnable = backends.available()
    if not runnable:
        raise NotApplicable("; ".join(backends.unavailable(backend) for backend in backends.BACKENDS))
    return payload, runnable


def _compared_note(runnable):
    """The passing check's note: the backends compared, and why any other was not."""
    note = "matches on " + " and ".join(backends.DISPLAY_NAMES[backend] for backend in runnable)
    missing = [backends.unavailable(backend) for backend in backends.BACKENDS if backend not in runnable]
    return "; ".join([note] + missing)


def _timeout(spec):
    return max(30.0, 0.8 * spec.timeout)


def _on_each(spec, runnable, function, args_of):
    """``{backend: result or the exception}`` of ``remote.function`` on each backend, side by
    side; ``args_of(backend)`` gives its arguments."""
    path = f"{remote.__name__}:{function.__name__}"

    def run(backend):
        try:
            return backends.run_on(backend, path, *args_of(backend), timeout=_timeout(spec))
        except backends.BackendError as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - the arguments could not be sent (pickled)
            return NotApplicable(f"the target cannot be sent to the {backend} backend's process: "
                                 f"{describe_failure(exc)}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(runnable)) as pool:
        return dict(zip(runnable, pool.map(run, runnable)))


def _name(backend):
    return f"the {backends.DISPLAY_NAMES[backend]} backend"


def _failure_text(exc):
    """What a backend's child raised, where in the user's code, and whether TensorFlow."""
    if isinstance(exc, backends.BackendTimeout):
        return f"no result within the time allowed ({exc})", False
    details = getattr(exc, "details", "") or ""
    where = where_it_failed(details)
    return f"{_innermost_error(str(exc), details)}{' ' + where if where else ''}", calls_tensorflow(details)


_ERROR_LINE = re.compile(r"^(?:[\w.]+\.)?(\w+(?:Error|Exception)): (.*)$")


def _innermost_error(message, details):
    """The error a chain of exceptions started from (Keras re-raises a step's failure as its
    own "Unable to build" error), on one line; else the message's informative line."""
    if "The above exception was the direct cause" in details or "During handling of the above" in details:
        for line in details.splitlines():
            match = _ERROR_LINE.match(line.strip())
            if match:
                return informative_line(f"{match[1]}: {match[2]}", limit=200)
    return informative_line(message, limit=200)


def _raise_failures(results, expected, hint=_PORTABLE_HINT):
    """A :class:`ContractViolation` naming each backend whose child raised (``expected``: what
    the contract needed on it); a :class:`NotApplicable` when the target could not be sent."""
    for result in results.values():
        if isinstance(result, NotApplicable):
            raise result
    failed = {backend: result for backend, result in results.items() if isinstance(result, Exception)}
    if not failed:
        return
    texts = {backend: _failure_text(exc) for backend, exc in failed.items()}
    seen = "; ".join(f"on {_name(backend)}: {text}" for backend, (text, _) in texts.items())
    tensorflow = any(uses_tf for _, uses_tf in texts.values())
    names = " and ".join(_name(backend) for backend in failed)
    raise ContractViolation(f"{expected} on {names}", seen, hint=_TENSORFLOW_HINT if tensorflow else hint)


#: Keras 3's refusal of a TensorFlow op on a symbolic input, on every backend.
_KERAS_TENSOR_IN_TENSORFLOW = "KerasTensor cannot be used as input to a TensorFlow function"


def _on_tensorflow(what, reported_by, action, *args):
    """``action(*args)`` on the TensorFlow side. A failure there is not a portability
    problem (a :class:`NotApplicable` naming the family that reports it), but for a
    TensorFlow op given a symbolic input: Keras 3 calls ``call`` and ``compute_mask`` on
    symbolic ``KerasTensor``\ s on every backend (in a Functional model), which only
    ``keras.ops`` take."""
    try:
        return action(*args)
    except Exception as exc:  # noqa: BLE001 - the TensorFlow side failing is another check's finding
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        if _KERAS_TENSOR_IN_TENSORFLOW in details and calls_tensorflow(details):
            where = where_it_failed(details)
            raise ContractViolation(f"{what} to work on symbolic inputs, as on every backend",
                                    f"{describe_failure(exc)}{' ' + where if where else ''}",
                                    hint=_TENSORFLOW_HINT) from exc
        raise NotApplicable(f"{what} fails on the TensorFlow backend too ({describe_failure(exc)}); "
                            f"{reported_by} reports it") from exc


def _saved_weights(spec):
    """(model, path): the target built on TensorFlow in its model, its weights saved."""
    model = _on_tensorflow("building the target", "the construction family", lambda: spec.model_of(spec.built()))
    path = os.path.join(scratch_dir(), "tensorflow" + compat.WEIGHTS_SUFFIX)
    _on_tensorflow("save_weights()", "check_weights_h5_round_trip", model.save_weights, path)
    return model, path


def _reordered_note(backend):
    return (f"on {_name(backend)} the outputs agreed up to their order along the last axis "
            f"(as top_k(sorted=False) leaves it open)")


def _differences(expected, results, tolerance, floor=1.0, notes=None):
    """``{backend: how its arrays differ from expected}`` for the backends that differ. Outputs
    that hold the same values in another order along the last axis, reordered alike, do not
    differ (a note says so, in ``notes``)."""
    found = {}
    for backend, seen in results.items():
        difference = mismatch(expected, seen, tolerance, floor=floor)
        if difference and same_up_to_order(expected, seen, tolerance, floor):
            if notes is not None:
                notes.append(_reordered_note(backend))
        elif difference:
            found[backend] = difference
    return found


def _expect_same(differences, expected, hint=_PORTABLE_HINT):
    if differences:
        names = " and ".join(_name(backend) for backend in differences)
        seen = "; ".join(f"on {_name(backend)}: {text}" for backend, text in differences.items())
        raise ContractViolation(f"{expected} on {names}", seen, hint=hint)


@contract("backends", tier="full", start=_start, skipped_by=("tensorflow_only", "stochastic_inference"))
def check_backend_outputs_match(spec):
    """With the same weights and inputs, the target's inference outputs on the JAX and PyTorch backends match TensorFlow's."""
    payload, runnable = _runnable(spec)
    model, weights_path = _saved_weights(spec)
    values = spec.draw(seed=_DATA_SEED)
    expected = _on_tensorflow("the inference call", "the outputs family", remote.outputs_of, spec, model, values)
    results = _on_each(spec, runnable, remote.outputs, lambda backend: (payload, weights_path, values))
    _raise_failures(results, "the target to run in inference with TensorFlow's weights")
    notes = []
    _expect_same(_differences(expected, results, _OUTPUTS, notes=notes), "the TensorFlow backend's outputs")
    return "; ".join([_compared_note(runnable)] + notes)


def _projections(outputs):
    """A fixed random array per floating-point output (None for the others)."""
    rng = np.random.default_rng(_PROJECTION_SEED)
    return [rng.standard_normal(np.shape(leaf)).astype("float32")
            if np.issubdtype(np.asarray(leaf).dtype, np.floating) else None for leaf in outputs]


@contract("backends", tier="full", start=_start, skipped_by=("tensorflow_only", "inference_only", "stochastic_inference"))
def check_backend_gradients_match(spec):
    """Gradients of the same loss w.r.t. the trainable weights and the float inputs on the JAX and PyTorch backends match TensorFlow's."""
    payload, runnable = _runnable(spec)
    model, weights_path = _saved_weights(spec)
    values = spec.draw(seed=_DATA_SEED)
    outputs = _on_tensorflow("the inference call", "the outputs family", remote.outputs_of, spec, model, values)
    projections = _projections(outputs)
    expected_weights, expected_inputs = _on_tensorflow("the gradient", "the gradients family", remote.gradients_of,
                                                       spec, model, values, projections)
    if not expected_weights and not expected_inputs:
        raise NotApplicable("no trainable weights and no floating-point inputs to differentiate")
    if all(p is None for p in projections):
        raise NotApplicable("no floating-point output to put a loss on")
    results = _on_each(spec, runnable, remote.gradients,
                       lambda backend: (payload, weights_path, values, projections))
    _raise_failures(results, "the gradient of the target's outputs to be computed")
    scale = magnitude(expected_weights + list(expected_inputs.values()), floor=1e-12)
    names = [getattr(v, "path", v.name) for v in model.trainable_variables]
    differences = {}
    for backend, (seen_weights, seen_inputs) in results.items():
        for label, expected, seen in (("weights", expected_weights, seen_weights),
                                      ("inputs", list(expected_inputs.values()), list(seen_inputs.values()))):
            difference = mismatch(expected, seen, _GRADIENTS, floor=scale)
            if difference:
                worst = _worst(expected, seen, names if label == "weights" else list(expected_inputs))
                differences[backend] = f"gradients w.r.t. the {label} {difference.replace('outputs', 'values')}" \
                                       f"{worst}"
                break
    notes = _excuse_reordered_outputs(spec, differences, outputs, payload, weights_path, values)
    _expect_same(differences, "the TensorFlow backend's gradients")
    return "; ".join([_compared_note(runnable)] + notes)


def _excuse_reordered_outputs(spec, differences, expected_outputs, payload, weights_path, values):
    """Drop from ``differences`` the backends whose outputs hold TensorFlow's values in another
    order along the last axis: the same projection then weighs other values, so their
    gradients cannot be compared (the notes say so)."""
    differing = [backend for backend in differences]
    if not differing:
        return []
    outputs = _on_each(spec, differing, remote.outputs, lambda backend: (payload, weights_path, values))
    notes = []
    for backend, seen in outputs.items():
        if isinstance(seen, Exception):
            continue
        if mismatch(expected_outputs, seen, _OUTPUTS) and same_up_to_order(expected_outputs, seen, _OUTPUTS):
            del differences[backend]
            notes.append(f"gradients not compared on {_name(backend)}: its outputs come in another order "
                         f"along the last axis (as top_k(sorted=False) leaves it open), so the same loss "
                         f"weighs other values")
    return notes


def _worst(expected, seen, names):
    """``" (most in NAME)"``: the array that differs most, when the shapes agree."""
    if len(expected) != len(seen) or any(np.shape(a) != np.shape(b) for a, b in zip(expected, seen)):
        return ""
    gaps = [float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64")))) if np.size(a) else 0.0
            for a, b in zip(expected, seen)]
    return f" (most in {names[int(np.argmax(gaps))]})" if gaps else ""


@contract("backends", tier="full", start=_start, skipped_by=("tensorflow_only", "stochastic_inference"))
def check_backend_keras_file_portable(spec):
    """A .keras file saved on TensorFlow loads in safe mode on the JAX and PyTorch backends with the same outputs, and one saved there loads back on TensorFlow."""
    payload, runnable = _runnable(spec)
    folder = scratch_dir()
    model = _on_tensorflow("building the target", "the construction family", lambda: spec.model_of(spec.built()))
    keras_path = os.path.join(folder, "tensorflow" + compat.MODEL_SUFFIX)
    _on_tensorflow("model.save()", "check_keras_save_load", compat.save_model, model, keras_path)
    values = spec.draw(seed=_DATA_SEED)
    expected = _on_tensorflow("the inference call", "the outputs family", remote.outputs_of, spec, model, values)
    _on_tensorflow("loading the .keras file in safe mode", "check_keras_save_load", compat.load_model, keras_path)
    saved_there = {backend: os.path.join(folder, backend + compat.MODEL_SUFFIX) for backend in runnable}
    results = _on_each(spec, runnable, remote.keras_file_outputs,
                       lambda backend: (payload, keras_path, values, saved_there[backend]))
    _raise_failures(results, "the TensorFlow .keras file to load in safe mode, run and be saved again",
                    hint="register the class with keras.saving.register_keras_serializable and keep "
                         "call() to keras.ops, so that any backend can load and run it")
    notes = []
    _expect_same(_differences(expected, results, _OUTPUTS, notes=notes),
                 "the TensorFlow model's outputs from its .keras file")
    back = {}
    for backend in runnable:
        try:
            loaded = compat.load_model(saved_there[backend])
            back[backend] = remote.outputs_of(spec, loaded, values)
        except Exception as exc:  # noqa: BLE001 - the file saved there does not load here
            raise ContractViolation(f"the .keras file saved on {_name(backend)} to load in safe mode on TensorFlow",
                                    describe_failure(exc)) from exc
    _expect_same(_differences(expected, back, _OUTPUTS, notes=notes),
                 "the same outputs from the file saved there, on TensorFlow")
    return "; ".join([_compared_note(runnable)] + sorted(set(notes)))


@contract("backends", tier="full", start=_start, skipped_by=("tensorflow_only", "inference_only"))
def check_backend_fit_step_matches(spec):
    """One SGD fit step (compiled with XLA on JAX, eager on PyTorch) leaves the same weights as on TensorFlow."""
    payload, runnable = _runnable(spec)
    model, weights_path = _saved_weights(spec)
    values = spec.draw(seed=_DATA_SEED)
    if _on_tensorflow("a training call", "the modes family", random_in_training, spec, spec.built()):
        raise NotApplicable("random in training (dropout, noise): each backend draws its own random numbers")
    outputs = _on_tensorflow("the inference call", "the outputs family", lambda: model(
        spec.model_data(model, values), training=False))
    batch = spec.batch_size
    if not trained_outputs(spec, outputs, batch):
        raise NotApplicable("no output to put a loss on (no floating-point output along the batch)")
    losses, targets = losses_and_targets(outputs, seed=_TARGET_SEED, spec=spec, batch_size=batch)
    before = remote.weights_of(model)
    expected = _on_tensorflow("one fit step", "the model family", remote.fit_step_of, spec, model, values, losses,
                              targets, batch, _LEARNING_RATE, False)
    jit = not spec.has_trait("not_xla_compatible")
    results = _on_each(spec, runnable, remote.fit_step, lambda backend: (
        payload, weights_path, values, losses, targets, batch, _LEARNING_RATE, jit and backend == "jax"))
    _raise_failures(results, "one fit step (jit_compile on JAX) to run")
    differences = {}
    for backend, seen in results.items():
        difference = _weights_difference(before, expected, seen)
        if difference:
            differences[backend] = difference
    _expect_same(differences, "the weights one fit step leaves on TensorFlow")
    return _compared_note(runnable)


def _weights_difference(before, expected, seen):
    """How the weights ``seen`` after a step differ from ``expected`` (both ``[(path, array)]``),
    each within :data:`_OF_UPDATE` of TensorFlow's change to it; None when they agree."""
    if len(seen) != len(expected):
        return f"{len(seen)} weights instead of {len(expected)}"
    for (path, start), (_, want), (_, got) in zip(before, expected, seen):
        if np.shape(got) != np.shape(want):
            return f"weight {path} of shape {np.shape(got)} instead of {np.shape(want)}"
        want, got, start = (np.asarray(a, "float64") for a in (want, got, start))
        update = float(np.max(np.abs(want - start))) if want.size else 0.0
        allowed = _OF_UPDATE * update + _WEIGHT_ROUNDING * magnitude([want])
        gap = float(np.max(np.abs(got - want))) if want.size else 0.0
        if not gap <= allowed:
            return (f"weight {path} differing by up to {gap:.3g} after the step (TensorFlow's step moved it "
                    f"by up to {update:.3g})")
    return None
