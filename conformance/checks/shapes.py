"""Shapes: unknown batch sizes, and agreement between symbolic, eager and declared shapes."""

import inspect
import re

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import describe_shapes, shapes_of
from conformance.outcomes import ContractViolation, describe_exception, expect

_NONE_BATCH_HINT = "use tf.shape(x)[0] (or -1 in a reshape) rather than x.shape[0], which is None"


def _error(exc):
    """The informative line of an exception Keras wrapped in call-site boilerplate."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    text = re.split(r"\n\s*(?:Call a|A)rguments received", text)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return describe_exception(exc)
    line = lines[-1]
    if not re.match(r"^\w+(Error|Exception)\b", line):
        line = f"{type(exc).__name__}: {line}"
    return line if len(line) <= 240 else line[:237] + "..."


# -- shapes as plain tuples ----------------------------------------------------------------

def _is_dim(value):
    return value is None or isinstance(value, (int, np.integer))


def flat_shapes(obj):
    """Shapes of a (nested) output or ``compute_output_shape`` result, as a flat list of
    tuples with None for unknown dimensions; dict entries in key order."""
    if isinstance(obj, tf.TensorShape):
        return [tuple(obj.as_list()) if obj.rank is not None else None]
    if isinstance(obj, dict):
        return [s for key in sorted(obj) for s in flat_shapes(obj[key])]
    if isinstance(obj, (list, tuple)):
        if all(_is_dim(d) for d in obj):
            return [tuple(None if d is None else int(d) for d in obj)]
        return [s for item in obj for s in flat_shapes(item)]
    if hasattr(obj, "shape"):
        return flat_shapes(tf.TensorShape(obj.shape))
    raise TypeError(f"cannot read a shape from {type(obj).__name__}")


def _compatible(claimed, actual):
    """``claimed`` (None meaning unknown) fits the concrete ``actual`` shape."""
    if claimed is None:  # unknown rank
        return True
    return len(claimed) == len(actual) and all(c is None or c == a for c, a in zip(claimed, actual))


def _all_compatible(claimed, actual):
    return len(claimed) == len(actual) and all(_compatible(c, a) for c, a in zip(claimed, actual))


def _text(shapes):
    return describe_shapes(shapes) if shapes else "no outputs"


# -- ways to learn the output shape ------------------------------------------------------

def _symbolic_call(layer, spec, batch_size=None):
    """Output shapes of ``layer`` called on ``keras.Input``s; a violation if it raises."""
    what = "an unknown (None)" if batch_size is None else f"a known ({batch_size})"
    try:
        outputs = spec.inputs.call(layer, spec.inputs.symbolic(batch_size))
    except Exception as exc:  # noqa: BLE001 - user code failing here is the finding
        raise ContractViolation(
            f"a call on keras.Input with {what} batch size to work",
            f"it raised {_error(exc)}",
            hint=_NONE_BATCH_HINT if batch_size is None else None,
        ) from exc
    return flat_shapes(outputs)


def _shapes_by_argument(spec, batch_size):
    """``{call argument: shape structure}`` for the spec's inputs with batch ``batch_size``,
    placed as the inputs are placed in the call (positional inputs are the first argument)."""
    shapes = {key: compat.shape_argument((batch_size,) + tuple(s.shape[1:])) for key, s in spec.inputs}
    args, kwargs = spec.inputs.arguments(shapes)
    for name in spec.call_kwargs:
        kwargs.pop(name, None)
    parameters = spec.call_parameters()
    if args and parameters:
        kwargs = {parameters[0]: args[0], **kwargs}
    return kwargs


def _declared_shapes(layer, spec, batch_size):
    """``compute_output_shape`` for the spec's input shapes (batch dimension ``batch_size``),
    or None when the class leaves it to a Keras implementation that cannot answer.

    A single-parameter ``compute_output_shape`` gets the first call argument's shapes;
    one with several parameters gets ``<argument>_shape`` keywords (Keras 3's convention).
    """
    by_argument = _shapes_by_argument(spec, batch_size)
    parameters = [name for name, p in inspect.signature(layer.compute_output_shape).parameters.items()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if len(parameters) == 1:
        arguments = ([next(iter(by_argument.values()))], {})
    else:
        keywords = {name: by_argument[name[:-len("_shape")]] for name in parameters
                    if name.endswith("_shape") and name[:-len("_shape")] in by_argument}
        if not keywords:
            return None  # no way to tell which argument a parameter means
        arguments = ([], keywords)
    described = describe_shapes([compat.shape_argument((batch_size,) + tuple(s.shape[1:]))
                                 for _, s in spec.inputs])
    try:
        declared = layer.compute_output_shape(*arguments[0], **arguments[1])
    except Exception as exc:  # noqa: BLE001
        if compat.defined_by_keras(type(layer), "compute_output_shape"):
            return None  # Keras 3's base class does not infer shapes; nothing was declared
        raise ContractViolation(
            f"compute_output_shape({described}) to return the output shape",
            f"it raised {_error(exc)}",
        ) from exc
    return flat_shapes(declared)


def _traced_shapes(layer, spec):
    """Output shapes of ``layer`` traced by tf.function with an unknown batch size, as ``fit``
    traces it for a last, smaller batch; a violation if the trace raises."""

    def run(values):
        return spec.inputs.call(layer, values, training=False)

    try:
        concrete = tf.function(run).get_concrete_function(spec.inputs.tensor_specs())
    except Exception as exc:  # noqa: BLE001
        raise ContractViolation(
            "a call inside tf.function with an unknown (None) batch size to work",
            f"tracing raised {_error(exc)}",
            hint=_NONE_BATCH_HINT,
        ) from exc
    return flat_shapes(concrete.structured_outputs)


def _known_batches(shapes):
    return [s for s in shapes if s and s[0] is not None]


# -- the checks ---------------------------------------------------------------------------

@contract("shapes")
def check_symbolic_unknown_batch(spec):
    """The layer works on symbolic inputs whose batch size is unknown (None), and its output keeps an unknown batch dimension.

    Three views are checked: a new instance called on ``keras.Input`` (how the Functional
    API builds it), ``compute_output_shape`` given a None batch (what Keras 3 uses for
    symbolic calls when it is overridden), and a tf.function trace with a None batch (how
    ``fit`` traces a smaller last batch).
    """
    layer = spec.new()
    for where, shapes in (
        ("on keras.Input", _symbolic_call(layer, spec)),
        ("from compute_output_shape", _declared_shapes(layer, spec, None)),
        ("inside tf.function", _traced_shapes(layer, spec)),
    ):
        if shapes is None:
            continue
        fixed = _known_batches(shapes)
        expect(not fixed, "every output to keep an unknown (None) batch dimension",
               lambda: f"output shape(s) {_text(shapes)} {where}",
               hint="the batch size must come from the inputs, not from a stored number")


@contract("shapes")
def check_output_shapes_agree(spec):
    """The declared output shape (``compute_output_shape``), the symbolic output shape and the eager output shape agree.

    All three are taken for the spec's example batch size. A dimension a shape leaves
    unknown (None) agrees with anything. ``compute_output_shape`` is compared only when the
    class, or a Keras class it derives from, implements it.
    """
    layer = spec.built()
    eager = shapes_of(spec.call(layer, spec.draw(), training=False))
    batch = spec.batch_size
    declared = _declared_shapes(layer, spec, batch)
    if declared is not None:
        expect(_all_compatible(declared, eager),
               f"compute_output_shape to give the eager output shape(s) {_text(eager)}",
               lambda: f"it declares {_text(declared)}",
               hint="compute_output_shape must follow what call() does")
    symbolic = _symbolic_call(spec.new(), spec, batch_size=batch)
    expect(_all_compatible(symbolic, eager),
           f"a call on keras.Input(batch_size={batch}) to give the eager output shape(s) "
           f"{_text(eager)}",
           lambda: f"symbolic output shape(s) {_text(symbolic)}")


@contract("shapes")
def check_batch_sizes(spec):
    """The layer works for several batch sizes, and each sample's output shape does not depend on the batch size."""
    layer = spec.built()
    sizes = sorted({1, spec.batch_size, spec.batch_size + 3})
    per_sample = {}
    for size in sizes:
        try:
            outputs = spec.call(layer, spec.draw(batch_size=size, seed=size), training=False)
        except Exception as exc:  # noqa: BLE001
            raise ContractViolation(
                f"calls with batch sizes {sizes} (built with {spec.batch_size}) to work",
                f"batch size {size} raised {_error(exc)}",
                hint="the batch size must not be part of any weight or stored shape",
            ) from exc
        shapes = shapes_of(outputs)
        wrong = [s for s in shapes if s and s[0] != size]
        expect(not wrong, f"outputs with batch dimension {size} for inputs with batch size {size}",
               lambda: f"output shape(s) {_text(shapes)}")
        per_sample[size] = [s[1:] for s in shapes]
    first = per_sample[sizes[0]]
    for size in sizes[1:]:
        expect(per_sample[size] == first,
               "the same per-sample output shape(s) at every batch size "
               f"({_text(first)} at batch size {sizes[0]})",
               lambda: f"{_text(per_sample[size])} at batch size {size}")
