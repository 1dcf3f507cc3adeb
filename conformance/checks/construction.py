"""Construction: what a layer owns before and after it is built."""

import copy
import functools

import numpy as np

import keras_compat as compat
from conformance.catalogue import contract
from conformance.outcomes import NotApplicable, expect

_PROBE_NAME = "conformance_probe"
_FRAMEWORK_MODULES = ("keras", "tf_keras", "tensorflow", "numpy", "builtins", "types", "typing")


@contract("construction")
def check_no_weights_after_init(spec):
    """Weights made in ``__init__`` are made once: building and calling the layer adds no second copy of them."""
    layer = spec.new()
    made_in_init = list(layer.weights)
    if not made_in_init:
        return  # the usual case: every weight is made in build()
    spec.call(layer, spec.draw(), training=False)
    originals = {(compat.weight_name(w), tuple(w.shape)) for w in made_in_init}
    # Sublayers' weights (a Dense made in build, with its own "kernel") are not copies.
    not_copies = {id(w) for w in made_in_init} | {id(w) for sub in compat.sublayers(layer) for w in sub.weights}
    copies = [compat.weight_name(w) for w in layer.weights
              if id(w) not in not_copies and (compat.weight_name(w), tuple(w.shape)) in originals]
    expect(not copies, f"the {len(made_in_init)} weights made in __init__ and no second copy of them "
           "after the first call",
           lambda: f"made again (same name and shape): {copies}",
           hint="make each weight once: in __init__ when its shape is known there, else in "
                "build(); a build() that makes it again leaves an untrained duplicate")


@contract("construction")
def check_accepts_base_kwargs(spec):
    """``__init__`` accepts the base-layer keyword arguments name, dtype and trainable, and honours them."""
    # The dtype the layer takes by default (an integer one for Hashing), given back explicitly.
    default_dtype = compat.dtype_name(getattr(spec.new(), "dtype", None) or "float32")
    probe = {"name": _PROBE_NAME, "dtype": default_dtype, "trainable": False}
    accepted = compat.base_init_arguments(spec.cls)  # only what Keras's own base class takes
    probe = {key: value for key, value in probe.items() if key in accepted}
    try:
        layer = spec.new(**probe)
    except TypeError as exc:
        expect(False, f"{', '.join(k + '=' for k in probe)} to be accepted and passed to the base class",
               f"TypeError: {exc}", hint="add **kwargs to __init__ and pass them to super().__init__")
    spec.call(layer, spec.draw(), training=False)
    expect(layer.name == _PROBE_NAME, f"name {_PROBE_NAME!r}", repr(layer.name))
    if "trainable" in probe:  # a Keras base class without it (SpatialDropout1D) cannot honour it
        expect(layer.trainable is False, "trainable False", repr(layer.trainable))
        expect(not layer.trainable_weights, "no trainable weights when trainable=False",
               lambda: f"{len(layer.trainable_weights)} trainable weights")


def _count_builds(layer):
    calls = []
    original = layer.build

    @functools.wraps(original)  # Keras 3 passes shapes by build()'s parameter names
    def counting_build(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    layer.build = counting_build
    return calls


@contract("construction")
def check_build_runs_once(spec):
    """``build`` runs exactly once over repeated calls and batch sizes (never, if the layer was built at construction)."""
    layer = spec.new()
    if layer.built:  # Keras 3 builds weightless layers in __init__
        allowed, wanted = {0}, "build() not to run again"
    elif compat.build_is_framework_default(layer):
        allowed, wanted = {0, 1}, "Keras's default build() to run at most once"
    else:
        allowed, wanted = {1}, "build() to run exactly once"
    calls = _count_builds(layer)
    for batch_size in (spec.batch_size, 1, spec.batch_size + 3, spec.batch_size):
        spec.call(layer, spec.draw(batch_size=batch_size), training=False)
    spec.call(layer, spec.draw(), training=True)
    expect(len(calls) in allowed, f"{wanted} over five calls", f"it ran {len(calls)} times")


@contract("construction")
def check_no_new_state_after_first_call(spec):
    """After the first call, later calls (other batch sizes, training or not) create no new variables."""
    layer = spec.built()
    before = [id(v) for v in layer.variables]
    for batch_size, training in ((spec.batch_size, False), (spec.batch_size + 1, True), (1, False)):
        spec.call(layer, spec.draw(batch_size=batch_size, seed=batch_size), training=training)
    added = [v.name for v in layer.variables if id(v) not in set(before)]
    expect(not added and len(layer.variables) == len(before),
           f"the {len(before)} variables created by the first call and no others",
           lambda: f"{len(layer.variables)} variables, new ones: {added}")


def _children(obj):
    if isinstance(obj, dict):
        return [(f"[{key!r}]", value) for key, value in obj.items()]
    if isinstance(obj, (list, tuple)):
        return [(f"[{index}]", value) for index, value in enumerate(obj)]
    if isinstance(obj, (compat.keras.layers.Layer, compat.tf.Module)):
        framework = compat.framework_attribute_names() if isinstance(obj, compat.keras.layers.Layer) else ()
        items = [(name, value) for name, value in vars(obj).items() if name not in framework]
        # Public attributes first, so a variable is reported under the name the user wrote.
        items.sort(key=lambda item: item[0].startswith("_"))
        return [(f".{name}", value) for name, value in items]
    if hasattr(obj, "__dict__") and not type(obj).__module__.startswith(_FRAMEWORK_MODULES):
        return [(f".{name}", value) for name, value in vars(obj).items()]  # a user's helper object
    return []


def _untracked_variables(layer, tracked, max_depth=6):
    """Paths of variables reachable from ``layer``'s attributes that Keras does not track."""
    found, seen = [], {id(layer)}
    frontier = [("layer", layer)]
    for _ in range(max_depth):
        next_frontier = []
        for path, obj in frontier:
            for suffix, child in _children(obj):
                if id(child) in seen:
                    continue
                seen.add(id(child))
                if compat.is_variable(child):
                    if id(child) not in tracked:
                        found.append(path + suffix)
                else:
                    next_frontier.append((path + suffix, child))
        frontier = next_frontier
    return found


@contract("construction")
def check_variables_tracked(spec):
    """Every variable the layer holds is tracked in its ``weights`` (no raw, untracked ``tf.Variable``)."""
    layer = spec.built()
    found = _untracked_variables(layer, compat.tracked_variable_ids(layer))
    expect(not found, "every variable attribute to be created with add_weight() (tracked)",
           lambda: f"untracked variables at {', '.join(found)}",
           hint="untracked variables are not trained by fit, not saved and not counted")


def _builds_no_weights(sub, shapes):
    """Whether ``sub``'s own build() makes no weights on one of the target's input shapes (a
    build that only prepares a random generator); False when it builds on none of them."""
    for shape in shapes:
        try:
            sub.build(compat.shape_argument(shape))
        except Exception:  # noqa: BLE001 - not this shape
            continue
        return not sub.weights
    return False


def _would_hold_state(sub, shapes):
    """An unbuilt sublayer holds weights, or has its own build() that makes them."""
    if sub.weights:
        return True
    return not compat.build_is_framework_default(sub) and not _builds_no_weights(sub, shapes)


@contract("construction")
def check_sublayers_built(spec):
    """After the first call, every nested sublayer that holds weights, or has a ``build`` to make them, is built."""
    layer = spec.built()
    # A weightless sublayer with Keras's default build (an inherited Flatten the subclass
    # replaced) may stay unbuilt: it holds nothing to train, save or lose.
    unbuilt = [sub for sub in compat.sublayers(layer) if not sub.built]
    unbuilt = [sub.name for sub in unbuilt if _would_hold_state(sub, spec.input_shapes)]
    expect(not unbuilt, "every sublayer with weights (or a build() that makes them) built after the first call",
           lambda: f"unbuilt sublayers: {unbuilt}",
           hint="a sublayer that is never called is dead weight, or call() skips it")


_MUTABLE = (list, dict, set, bytearray, np.ndarray)


def _snapshot(value):
    """A copy of the plain data in ``value`` (containers, arrays, scalars), or None for an
    object that is not plain data (a layer, an initializer): its own state is its own."""
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):
        return type(value)(value)
    if isinstance(value, (list, tuple)):
        return (type(value), [_snapshot(item) for item in value])
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (bytearray, bytes, str, int, float, complex, bool, np.generic)) or value is None:
        return copy.copy(value)
    return None


def _same_data(before, value):
    """Whether ``value`` still holds the plain data ``before`` snapshotted (NaN equals NaN)."""
    if before is None:
        return True  # not plain data: not compared
    if isinstance(before, dict):
        return (isinstance(value, dict) and before.keys() == value.keys()
                and all(_same_data(item, value[key]) for key, item in before.items()))
    if isinstance(before, tuple) and len(before) == 2 and isinstance(before[0], type):
        kind, items = before
        return (isinstance(value, kind) and len(value) == len(items)
                and all(_same_data(item, now) for item, now in zip(items, value)))
    if isinstance(before, np.ndarray):
        return (isinstance(value, np.ndarray) and value.shape == before.shape
                and np.array_equal(value, before, equal_nan=np.issubdtype(before.dtype, np.inexact)))
    if isinstance(before, float) and isinstance(value, float) and before != before:
        return value != value
    try:
        return bool(before == value) and type(before) is type(value)
    except Exception:  # noqa: BLE001 - incomparable: changed
        return False


def _holds_mutable_data(value):
    if isinstance(value, _MUTABLE):
        return True
    return isinstance(value, tuple) and any(_holds_mutable_data(item) for item in value)


@contract("construction")
def check_constructor_leaves_arguments_unchanged(spec):
    """The constructor does not modify the arguments it is given (lists, dicts, arrays stay as the caller made them)."""
    kwargs = spec.constructor_kwargs()
    mutable = sorted(name for name, value in kwargs.items() if _holds_mutable_data(value))
    if not mutable:
        raise NotApplicable("no constructor argument is a list, dict, set or array it could modify")
    before = {name: _snapshot(kwargs[name]) for name in mutable}
    originals = {name: repr(kwargs[name]) for name in mutable}
    spec.cls(**kwargs)
    changed = [name for name in mutable if not _same_data(before[name], kwargs[name])]
    expect(not changed, f"the arguments as given: {', '.join(f'{n}={originals[n]}' for n in mutable)}",
           lambda: "after __init__: " + ", ".join(f"{name}={kwargs[name]!r}" for name in changed),
           hint="copy an argument before changing it (list(thresholds), dict(config)): the caller "
                "reuses it, and a second layer made from the same config gets the changed value")
