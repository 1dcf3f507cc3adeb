"""Construction: what a layer owns before and after it is built."""

import functools

from conformance import compat
from conformance.catalogue import contract
from conformance.checks._common import values
from conformance.outcomes import NotApplicable, expect

_PROBE_NAME = "conformance_probe"


@contract("construction")
def check_no_weights_after_init(spec):
    """A newly constructed layer owns no weights until it is built."""
    layer = spec.new()
    if spec.is_model and layer.built:
        raise NotApplicable("a model built in __init__ (e.g. Functional) owns weights from the start")
    names = [w.name for w in layer.weights]
    expect(not names, "no weights before the first call or build()", lambda: f"{len(names)} weights already: {names}")


@contract("construction")
def check_accepts_base_kwargs(spec):
    """``__init__`` accepts the base-layer keyword arguments name, dtype and trainable, and honours them."""
    try:
        layer = spec.new(name=_PROBE_NAME, dtype="float32", trainable=False)
    except TypeError as exc:
        expect(False, "name=, dtype= and trainable= to be accepted and passed to the base class",
               f"TypeError: {exc}", hint="add **kwargs to __init__ and pass them to super().__init__")
    layer(spec.inputs(), training=False)
    expect(layer.name == _PROBE_NAME, f"name {_PROBE_NAME!r}", repr(layer.name))
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
    expected_runs = 0 if layer.built else 1  # Keras 3 builds weightless layers in __init__
    calls = _count_builds(layer)
    for batch_size in (spec.batch_size, 1, spec.batch_size + 3, spec.batch_size):
        layer(spec.inputs(batch_size=batch_size), training=False)
    layer(spec.inputs(), training=True)
    expect(len(calls) == expected_runs, f"build() to run {expected_runs} time(s) over five calls",
           f"it ran {len(calls)} times")


@contract("construction")
def check_no_new_state_after_first_call(spec):
    """After the first call, later calls (other batch sizes, training or not) create no new variables."""
    layer = spec.built()
    before = [id(v) for v in layer.variables]
    for batch_size, training in ((spec.batch_size, False), (spec.batch_size + 1, True), (1, False)):
        layer(spec.inputs(batch_size=batch_size, seed=batch_size), training=training)
    added = [v.name for v in layer.variables if id(v) not in set(before)]
    expect(not added and len(layer.variables) == len(before),
           f"the {len(before)} variables created by the first call and no others",
           lambda: f"{len(layer.variables)} variables, new ones: {added}")


def _untracked_variables(obj, tracked, path, seen, found, depth=0):
    if id(obj) in seen or depth > 6:
        return
    seen.add(id(obj))
    if compat.is_variable(obj):
        if id(obj) not in tracked:
            found.append(path)
        return
    if isinstance(obj, dict):
        items = list(obj.items())
    elif isinstance(obj, (list, tuple)):
        items = list(enumerate(obj))
    elif isinstance(obj, (compat.keras.layers.Layer, compat.tf.Module)):
        items = list(vars(obj).items())
    else:
        return
    for key, value in items:
        _untracked_variables(value, tracked, f"{path}.{key}" if isinstance(key, str) else f"{path}[{key!r}]",
                             seen, found, depth + 1)


@contract("construction")
def check_variables_tracked(spec):
    """Every variable the layer holds is tracked in its ``weights`` (no raw, untracked ``tf.Variable``)."""
    layer = spec.built()
    found = []
    _untracked_variables(layer, compat.tracked_variable_ids(layer), "layer", set(), found)
    expect(not found, "every variable attribute to be created with add_weight() (tracked)",
           lambda: f"untracked variables at {', '.join(found)}",
           hint="untracked variables are not trained by fit, not saved and not counted")


@contract("construction")
def check_sublayers_built(spec):
    """After the first call, every nested sublayer is built."""
    layer = spec.built()
    unbuilt = [sub.name for sub in compat.sublayers(layer) if not sub.built]
    expect(not unbuilt, "every sublayer built after the first call",
           lambda: f"unbuilt sublayers: {unbuilt}",
           hint="a sublayer that is never called is dead weight, or call() skips it")
