"""Dtype policies: the layer computes in the policy's dtype and stores variables in its variable dtype."""

import numpy as np

import keras_compat as compat
from conformance.catalogue import contract
from conformance.outcomes import ContractViolation, NotApplicable, expect
from conformance.traits import declared_reason
from conformance.checks._common import call, defined_arrays, describe_failure
from conformance.tensors import flatten_with_paths, select_outputs
from conformance.checks._precision import source_precisions


def _side_keys(spec):
    """Float inputs that go to another argument than call's first: Keras 2 autocasts only
    the first argument, so in a model these arrive already in the compute dtype, from the
    layers that made them."""
    return [key for key in spec.inputs.float_keys
            if spec.inputs.spec_of(key).argument not in (None, spec.first_call_parameter)]


def _inputs_under(spec, input_dtype, side_dtype=None):
    inputs = spec.example_tensors(seed=1, float_dtype=input_dtype)
    if side_dtype is not None:
        import tensorflow as tf

        for key in _side_keys(spec):
            inputs[key] = tf.cast(inputs[key], side_dtype)
    return inputs


def _built_under(policy, spec, input_dtype, side_dtype=None):
    """``(layer, outputs, inputs)``: a new instance made and called (inference) under the
    global ``policy`` (float inputs of call's first argument in ``input_dtype``, the others
    in ``side_dtype``); ``outputs`` as the call returned them, checked to be finite tensors."""
    compat.set_global_policy(policy)
    compat.keras.utils.set_random_seed(1)
    layer = spec.new()
    if not compat.autocasts_inputs(layer):
        # autocast=False (Embedding): the layer takes its float inputs as they come, so in
        # a model they come in the compute dtype of the layers that made them.
        input_dtype = side_dtype = layer.compute_dtype
    inputs = _inputs_under(spec, input_dtype, side_dtype)
    outputs = call(spec, layer, inputs, training=False)
    defined_arrays(spec, outputs)
    return layer, outputs, inputs


def _float_outputs(outputs):
    """``[(position in the flat list, path, dtype name)]`` of the floating-point outputs."""
    found = []
    for position, (path, leaf) in enumerate(flatten_with_paths(outputs)):
        dtype = compat.dtype_name(leaf.dtype)
        if dtype.startswith(("float", "bfloat")):
            found.append((position, path or str(position), dtype))
    return found


def _float_output_dtypes(outputs):
    return [dtype for _, _, dtype in _float_outputs(outputs)]


def _outputs_not_in(outputs, allowed, declared):
    """``[(path, dtype)]`` of the float outputs whose dtype is not in ``allowed``, a float32
    output at a ``declared`` position excepted."""
    return [(path, dtype) for position, path, dtype in _float_outputs(outputs)
            if dtype not in allowed and not (dtype == "float32" and position in declared)]


def _seen_output_dtypes(outputs, wrong):
    """What a dtype check saw: every float output's dtype, and which were wrong when several."""
    def seen():
        listed = f"output dtypes {_float_output_dtypes(outputs)}"
        if len(_float_outputs(outputs)) < 2:
            return listed
        return f"{listed}; not as expected: {', '.join(f'{p}: {d}' for p, d in wrong)}"
    return seen


def _declared_float32(spec, outputs):
    """Positions of the outputs declared kept in float32 (all of them under the trait)."""
    if spec.has_trait("float32_outputs"):
        return {position for position, _, _ in _float_outputs(outputs)}
    names = getattr(spec, "float32_outputs", None) or ()
    return set(select_outputs(outputs, names)) if names else set()


def _float_variables(layer):
    """(path, dtype name) of the layer's floating-point variables."""
    found = []
    for variable in layer.weights:
        name = compat.dtype_name(variable.dtype)
        if name.startswith(("float", "bfloat")):
            found.append((compat.variable_path(variable), name))
    return found


#: How TensorFlow says an op has no kernel for a dtype on this device: NotFoundError "Could
#: not find device for node ... T=DT_HALF", "No registered 'Op' OpKernel", or an
#: UnimplementedError "No WhereOp available for float16/half type on CPU".
_NO_KERNEL_MARKS = ("Could not find device for node", "No registered", "OpKernel", "available for")
_HALF_MARKS = ("DT_HALF", "float16", "half")


def _missing_kernel(exc, dtype_marks):
    """The line of TensorFlow's message saying an op has no kernel on this device for a
    dtype ``dtype_marks`` name, found anywhere in the chain of ``exc``; None if it is not that."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        if any(mark in text for mark in dtype_marks):
            for line in text.splitlines():
                if any(mark in line for mark in _NO_KERNEL_MARKS):
                    return " ".join(line.split())[:240]
        exc = exc.__cause__ or exc.__context__
    return None


def _missing_half_kernel(exc):
    """The line of TensorFlow's message saying an op has no float16 kernel on this device
    (``Where`` on a CPU), found anywhere in the chain of ``exc``; None if it is not that."""
    return _missing_kernel(exc, _HALF_MARKS)


@contract("dtype", skipped_by=("no_mixed_precision",))
def check_mixed_precision(spec):
    """Under the ``mixed_float16`` policy the layer runs, outputs float16 (float32 where declared or set by a sublayer's own policy) and keeps float32 variables."""
    try:
        layer, outputs, _ = _built_under("mixed_float16", spec, "float32", side_dtype="float16")
    except Exception as exc:  # noqa: BLE001 - one kind is the device's, not the layer's
        missing = _missing_half_kernel(exc)
        if missing is None:
            raise
        raise NotApplicable("an environment limit, not the layer's: an op it uses has no float16 "
                            f"kernel on this device ({missing}); check it on a device that has one") from exc
    # A sublayer given its own policy (the usual dtype="float32" output layer) may set the
    # output dtype to its compute dtype; a declared float32_outputs layer keeps some float32.
    allowed = {"float16"} | {sub.compute_dtype for sub in compat.sublayers(layer)
                             if sub.dtype_policy.name != "mixed_float16"}
    declared = _declared_float32(spec, outputs)
    wrong = _outputs_not_in(outputs, allowed, declared)
    fed = ("float32 inputs" if compat.autocasts_inputs(layer) else
           "float16 inputs (it sets autocast=False, so it is fed in the compute dtype, as a "
           "model chains it)")
    expect(not wrong, f"float16 outputs (the policy's compute dtype) from {fed}"
           + (f", float32 where declared ({len(declared)} output(s))" if declared else ""),
           _seen_output_dtypes(outputs, wrong),
           hint="do not cast to float32 or create float32 weights explicitly; use "
                "self.compute_dtype and add_weight() without a dtype; a layer that keeps an "
                "output in float32 on purpose (a float32 residual stream, box coordinates) "
                "declares it: --float32-output OUTPUT (one output) or --trait float32_outputs (all)")
    not_32 = [f"{name}: {dtype}" for name, dtype in _float_variables(layer) if dtype != "float32"]
    expect(not not_32, "float32 variables (the policy's variable dtype)",
           lambda: f"variables {not_32}")


def _source_names(layer, spec, sources):
    names = {("weight", id(w)): f"weight {compat.variable_path(w)}" for w in layer.trainable_weights}
    names.update({("input", k): f"input {k!r}" for k in spec.inputs.float_keys})
    return [names[s] for s in sources]


@contract("dtype", skipped_by=("no_float64",))
def check_float64_policy(spec):
    """Under the ``float64`` policy the layer outputs float64 (float32 where declared), its variables are float64, and it computes at float64 precision."""
    layer, outputs, inputs = _built_under("float64", spec, "float64")
    declared = _declared_float32(spec, outputs)
    wrong = _outputs_not_in(outputs, {"float64"}, declared)
    expect(not wrong, "float64 outputs from float64 inputs"
           + (f", float32 allowed where declared ({len(declared)} output(s))" if declared else ""),
           _seen_output_dtypes(outputs, wrong),
           hint="do not cast to float32 inside call(); use self.compute_dtype; an output kept "
                "in float32 by design under every policy (box coordinates) is declared: "
                "--float32-output OUTPUT (one output) or --trait float32_outputs (all)")
    not_64 = [f"{name}: {dtype}" for name, dtype in _float_variables(layer) if dtype != "float64"]
    expect(not not_64, "float64 variables",
           lambda: f"variables {not_64}",
           hint="do not hard-code dtype='float32' in add_weight()")
    # Each input and weight on its own: one float32 path beside float64 ones (an FFT of the
    # inputs, then a float64 projection) is hidden when everything moves together.
    precisions = source_precisions(spec, layer, inputs, excluded_outputs=declared)
    coarse = sorted((p, s) for s, p in precisions.items() if p != "float64")
    seen = "; ".join(
        f"the outputs follow {', '.join(_source_names(layer, spec, [s for q, s in coarse if q == p]))} "
        f"only at {p} resolution"
        for p in sorted({p for p, _ in coarse}))
    expect(not coarse,
           "a float64 computation: outputs that follow each input and weight below float32 "
           "resolution, as their gradient predicts",
           lambda: f"{seen}: the layer computes in {coarse[0][0]} inside (a precision limit)",
           hint="a cast to float32 inside call() (tf.signal.fft, a custom kernel, tf.cast(x, "
                "'float32')) limits the layer to float32 precision; compute in self.compute_dtype, "
                "or, if the float32 computation is by design, declare it: --trait no_float64")


# -- a policy given to the layer itself ---------------------------------------------------

#: The global policy in force while a layer is made with ``dtype=`` each of these: neither
#: float32 (a sublayer given dtype="float32" explicitly) nor the policy given, so a sublayer
#: made without ``dtype=`` shows it by following this one.
_STAND_IN_GLOBAL = {"mixed_float16": "bfloat16", "mixed_bfloat16": "float16", "float64": "bfloat16"}
_MIXED = ("mixed_float16", "mixed_bfloat16")
_LOW_PRECISION_MARKS = _HALF_MARKS + ("DT_BFLOAT16", "bfloat16")


def _accepts_dtype(cls):
    import inspect

    params = inspect.signature(cls.__init__).parameters
    return "dtype" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _sublayer_paths(layer):
    """``[(path, parent, sublayer)]`` for every layer nested in ``layer``, breadth first; a
    path is the attribute names that reach it (``ffn.dense_1``, ``blocks[0].norm``), or the
    sublayer's name where no attribute of its parent holds it."""
    framework = compat.framework_attribute_names()
    found, seen, queue = [], {id(layer)}, [("", layer)]
    while queue:
        prefix, parent = queue.pop(0)
        children = compat.direct_sublayers(parent)
        named = {}
        attributes = sorted(vars(parent).items(), key=lambda item: (item[0].startswith("_"), item[0]))
        for attribute, value in attributes:
            if attribute in framework or attribute.startswith("__"):
                continue
            for suffix, item in _held_layers(value):
                named.setdefault(id(item), attribute + suffix)
        for child in children:
            if id(child) in seen:
                continue
            seen.add(id(child))
            path = f"{prefix}{named.get(id(child), child.name)}"
            found.append((path, parent, child))
            queue.append((path + ".", child))
    return found


def _held_layers(value):
    """``[(suffix, layer)]``: ``value`` itself if a layer, or the layers a list, tuple or dict
    of it holds (``[0]``, ``['key']``)."""
    from collections.abc import Mapping

    if isinstance(value, compat.keras.layers.Layer):
        return [("", value)]
    if isinstance(value, (list, tuple)):
        return [(f"[{i}]", item) for i, item in enumerate(value) if isinstance(item, compat.keras.layers.Layer)]
    if isinstance(value, Mapping):
        try:
            return [(f"[{key!r}]", item) for key, item in value.items()
                    if isinstance(item, compat.keras.layers.Layer)]
        except Exception:  # noqa: BLE001 - a mapping-like object that cannot be listed
            return []
    return []


def _dtypes(layer):
    return layer.compute_dtype, layer.variable_dtype


def _is_float(dtype):
    return str(dtype).startswith(("float", "bfloat"))


def _made_with_policy(spec, policy):
    """``(layer, given, error or None)``: a new instance made with ``dtype=policy`` and
    called (inference), under a stand-in global policy, and the ids of the layers its
    constructor was given; the layer is inspected even when its call fails (a sublayer in
    the wrong dtype is the usual reason). None for the layer when the constructor refuses
    the policy (a preprocessing layer whose dtype is its output's)."""
    compat.set_global_policy(_STAND_IN_GLOBAL[policy])
    compat.keras.utils.set_random_seed(1)
    kwargs = spec.constructor_kwargs()
    given = set().union(*(_layers_in(value) for value in kwargs.values())) if kwargs else set()
    try:
        layer = spec.cls(**{**kwargs, "dtype": policy})
    except Exception as exc:  # noqa: BLE001 - Keras lets a layer take only some dtypes
        return None, given, exc
    try:
        _call_with_policy(spec, layer, policy)
    except Exception as exc:  # noqa: BLE001 - reported by the check, after the sublayers are seen
        return layer, given, exc
    return layer, given, None


def _call_with_policy(spec, layer, policy):
    """An inference call of ``layer`` (made with ``dtype=policy``) on inputs as a model
    under that policy feeds it (see :func:`_built_under`)."""
    input_dtype = "float64" if policy == "float64" else "float32"
    side_dtype = layer.compute_dtype
    if not compat.autocasts_inputs(layer):
        input_dtype = side_dtype = layer.compute_dtype
    call(spec, layer, _inputs_under(spec, input_dtype, side_dtype), training=False)


_ITSELF = "the layer itself"


class _Handing:
    """How the policy given to a layer reached its sublayers, owner by owner."""

    def __init__(self):
        self.wrong = []  # (owner's path, phrase): sublayers out of step with their owner
        self.kept = []  # (owner's path, path): sublayers kept in float32 on purpose
        self.ignoring = set()  # paths of owners that hand the policy to none of their sublayers
        self.judged = 0  # floating-point sublayers judged against their owner


def _own_variable_count(layer, children):
    """How many variables ``layer`` holds itself, not through ``children``."""
    theirs = {id(v) for child in children for v in child.weights}
    return len([v for v in layer.weights if id(v) not in theirs])


def _handing(layer, policy, float32_on_purpose, given=()):
    """A :class:`_Handing` for ``layer`` made with ``dtype=policy``.

    A sublayer is judged against its owner: the nearest layer above it that is not a
    container (a sublayer out of step with its owner, with sublayers and no variables of its
    own, such as a Sequential made without dtype= of layers given the policy, computes
    nothing itself; it is not judged). An owner hands
    the policy on when at least one floating-point sublayer it owns computes and stores in
    its dtypes (``ignoring`` lists those that do not; the check excuses an owner that hands
    no policy on, which follows the global policy only, as Keras allows). A sublayer that
    follows the global policy was made without ``dtype=``. A sublayer given float32
    explicitly is kept on purpose under mixed precision (under float64 only with
    ``float32_on_purpose``). Sublayers the constructor was ``given`` (ids), and theirs, are
    the caller's, not judged."""
    stand_in = _STAND_IN_GLOBAL[policy]  # a plain policy: it computes and stores in its name
    found = _Handing()
    owner_of = {id(layer): layer}
    paths = {id(layer): _ITSELF}
    skipped = set(given)
    owned = {}
    for path, parent, sublayer in _sublayer_paths(layer):
        paths[id(sublayer)] = path
        if id(parent) in skipped or id(sublayer) in skipped:
            skipped.add(id(sublayer))
            continue
        owner = owner_of[id(parent)]
        children = compat.direct_sublayers(sublayer)
        if children and not _own_variable_count(sublayer, children) and _dtypes(sublayer) != _dtypes(owner):
            owner_of[id(sublayer)] = owner  # a container made without dtype=: its sublayers answer to its owner
            continue
        owner_of[id(sublayer)] = sublayer
        if isinstance(sublayer, compat.keras.layers.InputLayer) or not _is_float(sublayer.compute_dtype):
            continue
        owned.setdefault(id(owner), (owner, []))[1].append((path, sublayer))
    found.judged = sum(len(subs) for _, subs in owned.values())
    for owner, subs in owned.values():
        where = paths[id(owner)]
        if not any(_dtypes(sub) == _dtypes(owner) for _, sub in subs):
            found.ignoring.add(where)
        for path, sub in subs:
            if _dtypes(sub) == _dtypes(owner):
                continue
            if _dtypes(sub) == (stand_in, stand_in):
                found.wrong.append((where, f"{path}: {sub.dtype_policy.name} (the global policy: made "
                                           f"without dtype=, where {where} has {owner.dtype_policy.name})"))
            elif _dtypes(sub) == ("float32", "float32") and (
                    owner.dtype_policy.name in _MIXED or float32_on_purpose):
                found.kept.append((where, path))
            else:
                found.wrong.append((where, f"{path}: computes in {sub.compute_dtype} with "
                                           f"{sub.variable_dtype} variables, where {where} "
                                           f"({owner.dtype_policy.name}) computes in {owner.compute_dtype} "
                                           f"with {owner.variable_dtype} variables"))
    return found


def _layers_in(value):
    """Ids of the layers ``value`` (a constructor argument) is or holds."""
    from collections.abc import Mapping

    if isinstance(value, compat.keras.layers.Layer):
        return {id(value)}
    if isinstance(value, (list, tuple)):
        return set().union(*(_layers_in(item) for item in value)) if value else set()
    if isinstance(value, Mapping):
        return set().union(*(_layers_in(item) for item in value.values())) if value else set()
    return set()


def _call_failure_note(spec, policy, failure, given_layers):
    """``[note]`` when the call of the layer made with ``dtype=policy`` failed for a reason
    not its own: no kernel on this device, a layer given to its constructor (in the dtype
    the caller made it in), or the stand-in global policy (it runs under the default
    float32 one); a :class:`ContractViolation` when it fails under that as well."""
    missing = _missing_kernel(failure, _LOW_PRECISION_MARKS)
    if missing is not None:
        return [f"{policy} not run: an op has no kernel for it on this device ({missing})"]
    if given_layers:
        return [f"{policy}: the call failed ({describe_failure(failure)}), maybe in a layer given to "
                "the constructor, made in the caller's dtype; sublayers made in build() not seen"]
    compat.set_global_policy("float32")
    compat.keras.utils.set_random_seed(1)
    try:
        _call_with_policy(spec, spec.new(dtype=policy), policy)
    except Exception as exc:  # noqa: BLE001 - the layer cannot run with the policy given
        raise ContractViolation(f"the layer made with dtype={policy!r} to run on the example inputs",
                                describe_failure(exc)) from exc
    return [f"{policy}: runs under the default global policy, not under {_STAND_IN_GLOBAL[policy]} "
            f"({describe_failure(failure)}): the layer reads the global policy somewhere"]


@contract("dtype")
def check_dtype_policy_reaches_sublayers(spec):
    """A layer made with ``dtype=`` a policy (mixed_float16, mixed_bfloat16, float64) that hands it to its sublayers hands it to all: each computes and keeps variables in its parent's dtypes, or in float32 on purpose."""
    if not _accepts_dtype(spec.cls):
        raise NotApplicable("the constructor takes no dtype argument (nor **kwargs to pass one to Keras)")
    policies = [p for p in (*_MIXED, "float64")
                if not (spec.has_trait("no_mixed_precision") and p in _MIXED)
                and not (spec.has_trait("no_float64") and p == "float64")]
    if not policies:
        # Each trait rules out some of the policies (skipped_by would skip the whole check on
        # either): only both together leave none.
        raise NotApplicable(f"no policy left to give the layer: {declared_reason('no_mixed_precision')}; "
                            f"{declared_reason('no_float64')}")
    float32_on_purpose = spec.has_trait("float32_sublayers")
    previous = compat.global_policy_name()
    notes, kept, runs = [], set(), []
    try:
        for policy in policies:
            layer, given, failure = _made_with_policy(spec, policy)
            if layer is None:
                notes.append(f"{policy} not given: the constructor refuses it ({describe_failure(failure)})")
                continue
            if not compat.sublayers(layer):
                raise NotApplicable("the layer has no sublayers to hand its dtype policy to")
            expect(layer.dtype_policy.name == policy, f"the layer to take the policy it is given ({policy})",
                   lambda: f"its policy {layer.dtype_policy.name}")
            found = _handing(layer, policy, float32_on_purpose, given)
            if not found.judged:
                raise NotApplicable(
                    "no sublayer of its own to hand the policy to: its sublayers were given to the "
                    "constructor (their dtype is the caller's), or are containers or not floating-point")
            runs.append((policy, found, failure, bool(given)))
        if not runs:
            raise NotApplicable("; ".join(notes))
        # An owner that hands no policy it is given to any sublayer follows the global one only.
        excused = set.intersection(*(found.ignoring for _, found, _, _ in runs))
        if _ITSELF in excused:
            raise NotApplicable(
                "the layer hands the dtype policy it is given to none of its sublayers: it "
                "follows the global policy only, as Keras allows (check_mixed_precision and "
                "check_float64_policy check it under global policies); to support dtype= given "
                "to the layer, pass dtype=self.dtype_policy to every sublayer")
        for policy, found, failure, given_layers in runs:
            wrong = [phrase for owner, phrase in found.wrong if owner not in excused]
            float64_hint = ("; a sublayer kept in float32 on purpose under every policy is declared: "
                            "--trait float32_sublayers" if policy == "float64" else "")
            expect(not wrong, f"every sublayer of a layer made with dtype={policy!r} in its "
                              "parent's compute and variable dtypes",
                   lambda: "; ".join(wrong) + (f" (and the call failed: {describe_failure(failure)})"
                                              if failure is not None else ""),
                   hint="pass dtype=self.dtype_policy to every sublayer the layer makes" + float64_hint)
            if failure is not None:
                notes.extend(_call_failure_note(spec, policy, failure, given_layers))
            kept.update(path for owner, path in found.kept if owner not in excused)
    finally:
        compat.set_global_policy(previous)
    if excused:
        notes.append(f"hand the policy to none of their sublayers (global policy only): "
                     f"{', '.join(sorted(excused))}")
    if kept:
        notes.append("in float32 under mixed precision (given dtype='float32' on purpose, or "
                     f"dtype=self.dtype, which is the variable dtype, by mistake): {', '.join(sorted(kept))}")
    return "; ".join(notes) or None
