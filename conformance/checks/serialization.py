"""Serialization: configs, whole-model files, weights files and SavedModel exports."""

import base64
import copy
import inspect
import marshal
import os
import re
import types

import numpy as np

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import forward, run_step
from keras_compat import keras
from conformance.isolation import scratch_dir
from conformance.outcomes import ContractViolation, NotApplicable, describe_exception, expect
from conformance.inputs import load_structure, save_structure
from conformance.check_host import CheckHostError, CheckHostTimeout, run_in_fresh_process
from conformance.tensors import as_arrays, mismatch

#: Relative tolerance for "the same outputs" from the same weights and the same graph.
_SAME = 1e-5
#: Keys of a serialized object that are bookkeeping, not part of its value.
_BOOKKEEPING = ("module", "registered_name", "build_config", "compile_config")
#: Argument-name endings whose values Keras stores in their serialized form.
_SERIALIZED_ARGUMENTS = (
    ("activation", "activations"),
    ("initializer", "initializers"),
    ("regularizer", "regularizers"),
    ("constraint", "constraints"),
)


def _weights_differ(expected, seen):
    """A phrase describing how two lists of weight values differ, or None if they are equal."""
    if len(expected) != len(seen):
        return f"{len(seen)} weights instead of {len(expected)}"
    for index, (a, b) in enumerate(zip(expected, seen)):
        if a.shape != b.shape:
            return f"weight {index} of shape {b.shape} instead of {a.shape}"
        if not np.array_equal(a, b, equal_nan=np.issubdtype(a.dtype, np.inexact)):
            return f"weight {index} differing by up to {float(np.nanmax(np.abs(a - b))):.3g}"
    return None


# -- comparing config values -------------------------------------------------------------


def _marshalled_code(value):
    """The code object of a function that Keras saved as (base64 bytecode, defaults, closure)."""
    if not value or not isinstance(value[0], str):
        return None
    try:
        code = marshal.loads(base64.b64decode(value[0].encode("ascii")))
    except Exception:  # noqa: BLE001 - not bytecode: an ordinary list
        return None
    return code if isinstance(code, types.CodeType) else None


def _canonical(value):
    """A comparable form of a config value.

    Tuples become lists, NumPy values Python ones, a serialized object keeps only its
    class name and config (a dtype policy only its name), a function saved as bytecode
    becomes its name and instructions (they survive a round trip; the bytes do not).
    """
    if isinstance(value, dict):
        if "class_name" in value and "config" in value:
            if str(value["class_name"]).endswith("DTypePolicy") and isinstance(value["config"], dict):
                return _canonical(value["config"].get("name"))
            return {"class_name": value["class_name"], "config": _canonical(value["config"])}
        return {key: _canonical(item) for key, item in value.items() if key not in _BOOKKEEPING}
    if isinstance(value, (list, tuple)):
        code = _marshalled_code(value)
        if code is not None:
            return ("code", code.co_name, code.co_code)
        return [_canonical(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if _keras_object(value):
        try:
            return _canonical(keras.saving.serialize_keras_object(value))
        except Exception:  # noqa: BLE001 - not serializable: compared as itself
            return value
    return value


def _keras_object(value):
    """A function or an object Keras serializes (a layer, an initializer, a dtype policy)."""
    if isinstance(value, type):
        return False
    return callable(value) or callable(getattr(value, "get_config", None))


def _given_forms(name, value):
    """Every canonical form in which a config may legitimately hold argument ``name=value``.

    One rule for Keras objects, however they are given (an object, a name Keras resolves, or
    the serialized form ``{"class_name": ..., "config": ...}``): they compare by their
    serialized form, where the config entries given need only be among those Keras saved
    (it fills in the rest), see :func:`_keeps_serialized`."""
    forms = [_canonical(value)]
    for ending, module_name in _SERIALIZED_ARGUMENTS:
        if name.endswith(ending):
            module = getattr(keras, module_name)
            try:
                forms.append(_canonical(module.serialize(module.get(value))))
            except Exception:  # noqa: BLE001 - not a valid identifier for that module
                pass
    if callable(value) and not isinstance(value, type):
        try:
            forms.append(compat.registered_name(value))  # "package>name", or the bare name
        except Exception:  # noqa: BLE001 - an object Keras cannot name
            pass
    if isinstance(value, types.FunctionType):
        forms.append(("code", value.__code__.co_name, value.__code__.co_code))
    return forms


def _holds(config_value, forms):
    seen = _canonical(config_value)
    for form in forms:
        if _equal(seen, form):
            return True
        if isinstance(seen, str) and isinstance(form, str) and seen.lower() == form.lower():
            return True  # Keras normalises some strings: padding="SAME" is stored as "same"
        # an int given for a tuple argument (kernel_size=3) is stored expanded: [3, 3]
        if isinstance(form, (int, float)) and not isinstance(form, bool) and isinstance(seen, list):
            if seen and all(_equal(item, form) for item in seen):
                return True
        if _keeps_serialized(seen, form):
            return True
    return False


def _keeps_serialized(seen, form):
    """Whether ``seen`` holds the Keras object given in serialized form as ``form`` (both
    canonical): the same class, and every config entry given, among those Keras filled in."""
    if not (isinstance(form, dict) and isinstance(seen, dict) and "class_name" in form):
        return False
    given, held = form.get("config"), seen.get("config")
    return (seen.get("class_name") == form["class_name"] and isinstance(held, dict)
            and isinstance(given, dict) and all(key in held and _equal(held[key], value)
                                                for key, value in given.items()))


def _equal(a, b):
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False


def _given_arguments(spec):
    """``{name: value}`` for the spec's kwargs that are named ``__init__`` arguments given a
    value other than their default (arguments without a default always count)."""
    params = inspect.signature(spec.cls.__init__).parameters
    named = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    defaults = spec.constructor_defaults()
    given = {}
    for name, value in spec.kwargs.items():
        if name not in named:
            continue
        if name in defaults and _equal(_canonical(value), _canonical(defaults[name])):
            continue
        given[name] = value
    return given


def _copy_config(config):
    try:
        return copy.deepcopy(config)
    except Exception:  # noqa: BLE001 - an uncopyable value: a shallow copy will do
        return dict(config)


def _rebuild(spec, config):
    """``cls.from_config`` on a copy (Keras 3's Lambda.from_config edits the dict it gets),
    with the safe-mode setting of a fresh process whatever the layer switched (as a plain
    ``from_config`` call in a user's program has)."""
    with compat.default_deserialization():
        return run_step("cls.from_config(layer.get_config()) to rebuild the layer",
                        spec.cls.from_config, _copy_config(config))


@contract("serialization")
def check_get_config_json(spec):
    """``get_config()`` returns a dict that survives Keras's own serialization to JSON (the one ``.keras`` files and ``to_json()`` use)."""
    config = run_step("get_config() to return the layer's config", spec.built().get_config)
    expect(isinstance(config, dict), "a dict from get_config()", lambda: type(config).__name__)
    try:
        compat.config_json(config)
    except (TypeError, ValueError) as exc:
        bad = [key for key, value in config.items() if not _json_ok(value)]
        raise ContractViolation(
            "a config Keras's serializer writes as JSON (plain values, or Keras objects, "
            "functions and arrays it serializes itself)",
            f"{describe_exception(exc)} under key(s) {bad}",
            hint="store plain values or serialized forms, e.g. keras.saving.serialize_keras_object(obj), "
                 "and give helper objects a get_config()",
        ) from exc


def _json_ok(value):
    try:
        compat.config_json({"value": value})
    except (TypeError, ValueError):
        return False
    return True


@contract("serialization")
def check_config_keeps_kwargs(spec):
    """Every constructor argument given a non-default value is in ``get_config()`` under its own name, with that value, and survives ``from_config``."""
    given = _given_arguments(spec)
    if not given:
        raise NotApplicable("no constructor argument was given a non-default value; pass kwargs")
    config = run_step("get_config() to return the layer's config", spec.new().get_config)
    for name, value in given.items():
        expect(name in config, f"argument {name!r} in get_config() (given {value!r})",
               lambda: f"no {name!r} key; keys are {sorted(config)}",
               hint="add every __init__ argument to get_config(), under the same name")
        expect(_holds(config[name], _given_forms(name, value)),
               f"get_config()[{name!r}] to hold the given value {value!r}",
               lambda: repr(config[name]))
    rebuilt_config = run_step("the rebuilt layer's get_config() to work", _rebuild(spec, config).get_config)
    for name in given:
        expect(name in rebuilt_config and _holds(rebuilt_config[name], [_canonical(config[name])]),
               f"from_config(config) to keep {name}={config[name]!r}",
               lambda: f"{name}={rebuilt_config.get(name, '<missing>')!r} in the rebuilt layer's config",
               hint="__init__ must use every argument from_config passes back")


#: Base-layer keyword arguments (Keras 2 and 3): the framework's, not the target's own.
_BASE_LAYER_ARGUMENTS = frozenset({
    "name", "dtype", "trainable", "autocast", "dynamic", "input_shape", "input_dim",
    "batch_input_shape", "batch_size", "weights", "activity_regularizer",
})
_ABSENT = object()


def _without_names(value):
    """A canonical config value with every ``name`` entry left out: sublayers are named
    afresh (``dense_3``) in each instance."""
    if isinstance(value, dict):
        return {key: _without_names(item) for key, item in value.items() if key != "name"}
    if isinstance(value, list):
        return [_without_names(item) for item in value]
    return value


def _comparable(config):
    return _without_names(_canonical(config))


def _differing_keys(first, second):
    return sorted(key for key in set(first) | set(second)
                  if not _equal(first.get(key, _ABSENT), second.get(key, _ABSENT)))


def _attribute(instance, name):
    try:
        return getattr(instance, name, _ABSENT)
    except Exception:  # noqa: BLE001 - a property that raises holds nothing to compare
        return _ABSENT


def _config_of(instance, what):
    return run_step(f"get_config() of {what} to work", instance.get_config)


def _varied_arguments(spec):
    """``(to vary, not varied)``: ``[(name, [values to try])]`` for the target's own
    constructor arguments the spec leaves at their defaults, and ``{name: why not}``."""
    from conformance.checks._variations import varied_values

    given = set(spec.constructor_kwargs())
    to_vary, not_varied = [], {}
    for name, parameter in inspect.signature(spec.cls.__init__).parameters.items():
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            continue
        if name == "self" or name in given or name in _BASE_LAYER_ARGUMENTS:
            continue
        if parameter.default is inspect.Parameter.empty:
            not_varied[name] = "required"
            continue
        values, reason = varied_values(name, parameter)
        if values:
            to_vary.append((name, values))
        else:
            not_varied[name] = reason
    return to_vary, not_varied


def _made_with(spec, name, values):
    """``(value, instance, None)`` for the first of ``values`` the constructor takes, or
    ``(None, None, why none)``."""
    reasons = []
    for value in values:
        kwargs = spec.constructor_kwargs()
        kwargs[name] = value
        try:
            return value, spec.cls(**kwargs), None
        except Exception as exc:  # noqa: BLE001 - an invalid value here is not a defect
            reasons.append(f"{value!r}: {describe_exception(exc)}")
    return None, None, "; ".join(reasons)


def _lost_value(spec, name, value, instance, default_config, unstable):
    """Why argument ``name=value`` (``instance`` was made with it) does not survive
    ``from_config(get_config())``, or None when it does."""
    default = spec.constructor_defaults()[name]
    config = _config_of(instance, f"a layer made with {name}={value!r}")
    rebuilt = _rebuild(spec, config)
    rebuilt_config = _config_of(rebuilt, "the layer rebuilt from that config")
    here, again = _comparable(config), _comparable(rebuilt_config)
    if name in config:
        if _holds(config[name], _given_forms(name, default)) and not _holds(
                config[name], _given_forms(name, value)):
            return f"get_config()[{name!r}] is the default {config[name]!r}"
        if name not in rebuilt_config or not _holds(rebuilt_config[name], [_canonical(config[name])]):
            return (f"get_config()[{name!r}] is {config[name]!r}, but the rebuilt layer's is "
                    f"{rebuilt_config.get(name, '<missing>')!r}")
    else:
        moved = [key for key in _differing_keys(default_config, here) if key not in unstable]
        if not moved:
            return (f"no {name!r} key, and the config is the one made at the default "
                    f"{default!r}: from_config rebuilds the layer with {name}={default!r}")
        lost = [key for key in moved if not _equal(here.get(key, _ABSENT), again.get(key, _ABSENT))]
        if lost:
            return (f"no {name!r} key; the config keys it changed ({', '.join(lost)}) differ "
                    f"in the rebuilt layer's config")
    held = _attribute(instance, name)
    if held is not _ABSENT and _holds(held, _given_forms(name, value)):
        after = _attribute(rebuilt, name)
        if after is _ABSENT or not _holds(after, _given_forms(name, value)):
            stored = f"get_config()[{name!r}] is {config[name]!r}, and " if name in config else ""
            return f"{stored}the rebuilt layer's attribute {name} is {after!r}"
    return None


def _listed(reasons):
    return ", ".join(f"{name} ({why})" for name, why in sorted(reasons.items()))


@contract("serialization")
def check_config_keeps_non_default_kwargs(spec):
    """Each constructor argument left at its default, set away from it one at a time, survives ``from_config(get_config())`` with the value set."""
    to_vary, not_varied = _varied_arguments(spec)
    if not to_vary:
        given = sorted(set(spec.constructor_kwargs()) - _BASE_LAYER_ARGUMENTS)
        raise NotApplicable(
            "no constructor argument of the target's own is left at its default to vary"
            + (f" (given: {', '.join(given)})" if given else "")
            + (f"; not varied: {_listed(not_varied)}" if not_varied else ""))
    default_config = _comparable(_config_of(spec.new(), "the layer"))
    unstable = set(_differing_keys(default_config, _comparable(_config_of(spec.new(), "the layer"))))
    varied, lost = [], []
    for name, values in to_vary:
        value, instance, refused = _made_with(spec, name, values)
        if instance is None:
            not_varied[name] = f"could not vary: {refused}"
            continue
        try:
            problem = _lost_value(spec, name, value, instance, default_config, unstable)
        except ContractViolation as exc:  # get_config or from_config failed at this value
            problem = f"expected {exc.expected}; saw {exc.seen}"
        varied.append(f"{name}={value!r}")
        if problem is not None:
            lost.append(f"{name}={value!r}: {problem}")
    unvaried = f"; not varied: {_listed(not_varied)}" if not_varied else ""
    expect(not lost, "every argument set away from its default to survive from_config(get_config())",
           lambda: "; ".join(lost) + unvaried,
           hint="add every __init__ argument to get_config(), under the same name, and pass it "
                "back to __init__ in from_config()")
    if not varied:
        raise NotApplicable(f"no argument could be varied{unvaried}")
    return f"varied one at a time: {', '.join(varied)}{unvaried}"


@contract("serialization", skipped_by=("stochastic_inference",))
def check_from_config_same_outputs(spec):
    """A layer rebuilt with ``from_config(get_config())``, given the same weights, computes the same outputs."""
    original = spec.built()
    x = spec.draw(seed=1)
    rebuilt = _rebuild(spec, run_step("get_config() to return the layer's config", original.get_config))
    run_step("the rebuilt layer to run on the example inputs",
             lambda: spec.call(rebuilt, spec.draw(seed=0), training=False))
    weights = original.get_weights()
    run_step(f"the rebuilt layer to take the original's {len(weights)} weights", rebuilt.set_weights, weights)
    expected = forward(spec, original, x)
    seen = forward(spec, rebuilt, x)
    difference = mismatch(expected, seen, _SAME)
    expect(not difference, "the outputs of the original layer", difference,
           hint="get_config() must describe everything __init__ uses, in the form __init__ takes")


def _saved_model_file(spec):
    """(saved weights, inputs, outputs, path): the target in a model, saved as a ``.keras``
    file. The outputs are computed after saving, so a layer whose calls update its state is
    compared from the saved state."""
    model = spec.model_of(spec.built())
    path = os.path.join(scratch_dir(), "model" + compat.MODEL_SUFFIX)
    run_step("model.save() to write a .keras file", compat.save_model, model, path)
    weights = model.get_weights()
    x = spec.draw(seed=1)
    return weights, model, x, forward(spec, model, x), path


@contract("serialization", skipped_by=("stochastic_inference",))
def check_keras_save_load(spec):
    """A model holding the target, saved as ``.keras`` and loaded in safe mode, has the same weights and outputs."""
    weights, model, x, expected, path = _saved_model_file(spec)
    loaded = run_step("load_model() to rebuild the model in safe mode", compat.load_model, path)
    problem = _weights_differ(weights, loaded.get_weights())
    expect(problem is None, "the saved weights after loading", problem)
    seen = run_step("the loaded model to run", forward, spec, loaded, x)
    difference = mismatch(expected, seen, _SAME)
    expect(not difference, "the saved model's outputs after loading", difference)


def outputs_in_fresh_process(target, model_path, inputs_path):
    """Run in a fresh process: import ``target`` (only it), load the ``.keras`` file in safe
    mode and return its inference outputs on the saved inputs."""
    from conformance.loading import load_target

    load_target(target)
    model = compat.load_model(model_path)
    return as_arrays(model(load_structure(inputs_path), training=False))


def _first_error_line(stderr):
    """The first exception line of a traceback: in a chain, the user's own error."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit):", line)]
    text = errors[0] if errors else (lines or ["no error output"])[-1]
    return text if len(text) <= 300 else text[:297] + "..."


@contract("serialization", tier="full", skipped_by=("stochastic_inference",))
def check_fresh_process_load(spec):
    """The ``.keras`` file loads in safe mode in a fresh Python process that imports only the target's module, and gives the same outputs."""
    if spec.import_path is None:
        raise NotApplicable("no import path to load the target from in a fresh process; pass import_path")
    _, model, x, expected, model_path = _saved_model_file(spec)
    folder = os.path.dirname(model_path)
    inputs_path = os.path.join(folder, "inputs.npz")
    save_structure(inputs_path, spec.model_data(model, x))
    timeout = max(30.0, 0.8 * spec.timeout)
    where = f"in safe mode in a fresh process importing only {spec.import_path}"
    try:
        seen = run_in_fresh_process(f"{__name__}:outputs_in_fresh_process", spec.import_path,
                                    model_path, inputs_path, timeout=timeout)
    except CheckHostTimeout:
        raise ContractViolation("the model to load in a fresh process",
                                f"no result within {timeout:g} s") from None
    except CheckHostError as exc:
        raise ContractViolation(f"the model to load {where}", _first_error_line(exc.details) if
                                exc.details else str(exc),
                                hint="register the class (and its custom objects) at import time "
                                     "with keras.saving.register_keras_serializable") from None
    difference = mismatch(expected, seen, _SAME)
    expect(not difference, "the saving process's outputs in the fresh process", difference,
           hint="state that is not in the config or the weights is lost in a new process")


@contract("serialization", skipped_by=("stochastic_inference",))
def check_weights_h5_round_trip(spec):
    """Weights saved to ``.weights.h5`` and loaded into a fresh, built instance give the same weights and outputs."""
    model = spec.model_of(spec.built())
    path = os.path.join(scratch_dir(), "model" + compat.WEIGHTS_SUFFIX)
    run_step("save_weights() to write a .weights.h5 file", compat.save_weights, model, path)
    weights = model.get_weights()
    x = spec.draw(seed=1)
    expected = forward(spec, model, x)  # after saving: a layer updating state in calls saved it first
    fresh = spec.model_of(spec.built())
    run_step("load_weights() into a fresh instance to succeed", compat.load_weights, fresh, path)
    problem = _weights_differ(weights, fresh.get_weights())
    expect(problem is None, "the saved weights in the fresh instance", problem,
           hint="weights are matched by position and attribute path: keep both stable")
    seen = forward(spec, fresh, x)
    difference = mismatch(expected, seen, _SAME)
    expect(not difference, "the saving instance's outputs from the fresh instance", difference,
           hint="state that is not a weight (a cached constant, a Python attribute) is not saved")


#: Ops that call back into the Python process that traced them: a SavedModel holding one
#: runs only where that process's function still exists, never in TF Serving.
_PYTHON_CALLBACK_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


def _python_callback_ops(path):
    """The Python-callback ops in the graphs of the SavedModel at ``path``."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        proto.ParseFromString(handle.read())
    ops = set()
    for meta_graph in proto.meta_graphs:
        ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            ops.update(node.op for node in function.node_def)
    return sorted(ops & _PYTHON_CALLBACK_OPS)


def _nests_a_mapping(outputs):
    """Whether a dict (or other mapping) sits inside a list or tuple of ``outputs``."""
    if isinstance(outputs, (list, tuple)):
        return any(isinstance(item, dict) or _nests_a_mapping(item) for item in outputs)
    if isinstance(outputs, dict):
        return any(_nests_a_mapping(item) for item in outputs.values())
    return False


@contract("serialization", tier="full", skipped_by=("stochastic_inference",))
def check_saved_model_export(spec):
    """A model holding the target, exported as a TensorFlow SavedModel, serves the model's own outputs without calling back into Python."""
    model = spec.model_of(spec.built())
    if _nests_a_mapping(spec.call(model, spec.draw(seed=1))):
        raise NotApplicable(
            "the outputs nest a dict inside a list or tuple, which no SavedModel signature can "
            "return (TensorFlow takes a flat structure of tensors, and Keras's export passes "
            "the outputs as they are): a limit of the export, not of the layer; export a "
            "serving model whose outputs are flattened")
    path = os.path.join(scratch_dir(), "saved_model")
    run_step("the model to export as a SavedModel", compat.export_saved_model, model, path)
    x = spec.draw(seed=1)
    expected = forward(spec, model, x)  # after exporting, from the exported state
    callbacks = _python_callback_ops(path)
    expect(not callbacks, "a self-contained SavedModel (TensorFlow ops only)",
           lambda: f"{', '.join(callbacks)} ops, which call Python code of this process",
           hint="tf.numpy_function and tf.py_function cannot be served; "
                "write the computation in TensorFlow ops")
    serve = run_step("the exported SavedModel to load", compat.load_exported_callable, path)
    data = spec.model_data(model, x)
    seen = run_step("the exported SavedModel to serve the example inputs", lambda: as_arrays(serve(data)))
    difference = mismatch(expected, seen, _SAME)
    expect(not difference, "the model's outputs from the exported SavedModel", difference)
