"""Shapes: unknown batch sizes and lengths, and agreement between symbolic, eager and declared shapes."""

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import declared_unbatched, describe_shapes, output_batch_axes, shapes_of
from conformance.outcomes import ContractViolation, NotApplicable, expect
from conformance.tensors import batch_axes, flatten, per_sample_shape

_NONE_BATCH_HINT = "use tf.shape(x)[0] (or -1 in a reshape) rather than x.shape[0], which is None"


def _error(exc):
    """The informative line of an exception Keras wrapped in call-site boilerplate."""
    from conformance.errors import describe_error

    return describe_error(exc, 240)


# -- shapes as plain tuples ----------------------------------------------------------------

def _is_dim(value):
    return value is None or isinstance(value, (int, np.integer))


def flat_shapes(obj):
    """Shapes of a (nested) output or ``compute_output_shape`` result, as a flat list of
    tuples with None for unknown dimensions; dict entries in key order."""
    if compat.stands_for_none(obj):  # an optional output not computed in this call
        return []
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
        outputs = spec.inputs.call_symbolic(layer, batch_size)
    except Exception as exc:  # noqa: BLE001 - user code failing here is the finding
        raise ContractViolation(
            f"a call on keras.Input with {what} batch size to work",
            f"it raised {_error(exc)}",
            hint=_NONE_BATCH_HINT if batch_size is None else None,
        ) from exc
    return flat_shapes(outputs)


def _declaring_method(layer):
    return compat.output_declaration(layer) or "compute_output_shape"


def _declared_shapes(layer, spec, batch_size, inputs=None, unknown_length=False):
    """The output shapes ``layer`` declares for the spec's inputs (or ``inputs``, a
    :class:`~conformance.inputs.CallInputs`; batch dimension ``batch_size``, sequence axes
    None with ``unknown_length``), asked as Keras asks for a symbolic call (see
    :func:`keras_compat.declared_outputs`): ``compute_output_spec`` where Keras 3 has it
    overridden, else ``compute_output_shape`` with the shapes of the call's tensor
    arguments, by Keras's convention for its parameter names. None when the layer declares
    nothing, or leaves it to a Keras implementation that cannot answer."""
    inputs = spec.inputs if inputs is None else inputs
    args, kwargs = inputs.arguments(inputs.symbolic(batch_size, unknown_length=unknown_length))
    method = _declaring_method(layer)
    try:
        declared = compat.declared_outputs(layer, args, kwargs)
    except Exception as exc:  # noqa: BLE001
        if compat.defined_by_keras(type(layer), method):
            return None  # a Keras implementation that cannot answer; nothing was declared
        described = describe_shapes([(batch_size,) + inputs.symbolic_shape(key, unknown_length)
                                     for key in inputs.keys])
        raise ContractViolation(
            f"{method}, asked as Keras asks it for inputs of shape(s) {described}, to return "
            "the output shape",
            f"it raised {_error(exc)}",
            hint="Keras 3 gives a compute_output_shape of one parameter the shapes of the first "
                 "tensor argument of call() (a list or dict of shapes for a list or dict), and one "
                 "of several parameters <argument>_shape keywords",
        ) from exc
    return None if declared is None else flat_shapes(declared)


def _call_kwargs_unseen(layer, spec):
    """The constant call keywords the spec sets that the layer's declaration cannot see:
    ``compute_output_shape`` receives shapes only (``compute_output_spec`` receives them)."""
    if not spec.call_kwargs or compat.output_declaration(layer) != "compute_output_shape":
        return []
    return sorted(spec.call_kwargs)


def _eager_shapes_without(spec, layer, names):
    """The eager output shapes of a call without the call keywords ``names`` (what a
    declaration that cannot see them describes), or None if such a call fails."""
    args, kwargs = spec.inputs.arguments(spec.draw())
    for name in names:
        kwargs.pop(name, None)
    try:
        return shapes_of(layer(*args, **kwargs, training=False))
    except Exception:  # noqa: BLE001 - the keyword is required: nothing to compare with
        return None


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


def _eager_batch_axes(spec, count):
    """:func:`output_batch_axes` of a built instance; every output batched when that cannot
    be learnt (the eager calls fail, or give another number of outputs)."""
    try:
        axes = output_batch_axes(spec, spec.built())
    except Exception:  # noqa: BLE001 - the other checks report a call that fails
        return [(0,)] * count
    return axes if len(axes) == count else [(0,)] * count


# -- the checks ---------------------------------------------------------------------------

@contract("shapes")
def check_symbolic_unknown_batch(spec):
    """The layer works on symbolic inputs whose batch size is unknown (None), and its output keeps an unknown batch dimension.

    Three views are checked: a new instance called on ``keras.Input`` (how the Functional
    API builds it), the declared output (``compute_output_shape``, or Keras 3's
    ``compute_output_spec``, asked as Keras asks it) given a None batch (what Keras 3 uses
    for symbolic calls when either is overridden), and a tf.function trace with a None
    batch (how ``fit`` traces a smaller last batch).
    """
    layer = spec.new()
    for where, shapes in (
        ("on keras.Input", _symbolic_call(layer, spec)),
        (f"from {_declaring_method(layer)}", _declared_shapes(layer, spec, None)),
        ("inside tf.function", _traced_shapes(layer, spec)),
    ):
        if shapes is None:
            continue
        fixed = _known_batches(shapes)
        if fixed:  # an output with no batch axis (an anchor table) keeps its fixed size
            fixed = [s for s, along in zip(shapes, _eager_batch_axes(spec, len(shapes)))
                     if along and s and s[0] is not None]
        expect(not fixed, "every output to keep an unknown (None) batch dimension",
               lambda: f"output shape(s) {_text(shapes)} {where}",
               hint="the batch size must come from the inputs, not from a stored number")


@contract("shapes")
def check_output_shapes_agree(spec):
    """The declared output shape (``compute_output_shape`` or ``compute_output_spec``), the symbolic output shape and the eager output shape agree.

    All three are taken for the spec's example batch size. A dimension a shape leaves
    unknown (None) agrees with anything; None outputs are left out. The declaration is
    asked as Keras asks it (see :func:`_declared_shapes`), and compared only when the
    class, or a Keras class it derives from, makes one. A ``compute_output_shape`` cannot
    see constant call keywords (``return_attention_scores=True``): when the spec sets some
    that change the eager output shapes, it is not compared, and the check says so in a
    skip once the symbolic and eager shapes agree.
    """
    layer = spec.built()
    eager = shapes_of(spec.call(layer, spec.draw(), training=False))
    batch = spec.batch_size
    unseen = _call_kwargs_unseen(layer, spec)
    if unseen and _eager_shapes_without(spec, layer, unseen) == eager:
        unseen = []  # the keywords change no shape: the declaration describes this call too
    method = _declaring_method(layer)
    declared = None if unseen else _declared_shapes(layer, spec, batch)
    if declared is not None:
        expect(_all_compatible(declared, eager),
               f"{method} to give the eager output shape(s) {_text(eager)}",
               lambda: f"it declares {_text(declared)}",
               hint=f"{method} must follow what call() does")
    symbolic = _symbolic_call(spec.new(), spec, batch_size=batch)
    keras_3_asks_shapes = unseen and compat.SYMBOLIC_CALL_USES_COMPUTE_OUTPUT_SHAPE
    expect(_all_compatible(symbolic, eager),
           f"a call on keras.Input(batch_size={batch}) to give the eager output shape(s) "
           f"{_text(eager)}",
           lambda: f"symbolic output shape(s) {_text(symbolic)}",
           hint=(f"Keras 3 takes a symbolic call's outputs from compute_output_shape, which cannot "
                 f"see the call keyword(s) {', '.join(unseen)}: override compute_output_spec("
                 "self, *args, **kwargs) to follow them") if keras_3_asks_shapes else None)
    if unseen:
        raise NotApplicable(
            f"the symbolic and eager output shapes agree; compute_output_shape was not compared: "
            f"it cannot receive the call keyword(s) {', '.join(unseen)} that this call sets, "
            "and they change the output shapes")


@contract("shapes")
def check_batch_sizes(spec):
    """The layer works for several batch sizes, and each sample's output shape does not depend on the batch size."""
    layer = spec.built()
    sizes = sorted({1, spec.batch_size, spec.batch_size + 3})
    shapes = {}
    for size in sizes:
        try:
            outputs = spec.call(layer, spec.draw(batch_size=size, seed=size), training=False)
        except Exception as exc:  # noqa: BLE001
            raise ContractViolation(
                f"calls with batch sizes {sizes} (built with {spec.batch_size}) to work",
                f"batch size {size} raised {_error(exc)}",
                hint="the batch size must not be part of any weight or stored shape",
            ) from exc
        shapes[size] = shapes_of(outputs)
    # Which outputs carry the batch (an anchor table or a relative position bias does not),
    # learnt from the sizes above one: at batch size 1 a broadcast output looks batched.
    batched = batch_axes({size: shapes[size] for size in sizes if size > 1}, spec.batch_size,
                         unbatched=declared_unbatched(spec, outputs))
    per_sample = {}
    for size in sizes:
        wrong = [s for s, along in zip(shapes[size], batched) if s and 0 in along and s[0] != size]
        expect(not wrong, f"outputs with batch dimension {size} for inputs with batch size {size}",
               lambda: f"output shape(s) {_text(shapes[size])}",
               hint="an output with no batch axis must have the same shape at every batch size; "
                    "declare outputs that cannot be told apart (unbatched_outputs)")
        per_sample[size] = [per_sample_shape(s, along) for s, along in zip(shapes[size], batched)]
    first = per_sample[sizes[0]]
    for size in sizes[1:]:
        expect(per_sample[size] == first,
               "the same per-sample output shape(s) at every batch size "
               f"({_text(first)} at batch size {sizes[0]})",
               lambda: f"{_text(per_sample[size])} at batch size {size}")


# -- variable lengths -----------------------------------------------------------------------

_FIXED_LENGTH_HINT = ("a layer that takes one length only by design declares it: --trait fixed_length "
                      "(or marks the input !seq=none); where other axes are lengths too, mark them "
                      "(!seq=1,2)")
_NONE_LENGTH_HINT = ("use ops.shape(x)[1] (tf.shape(x)[1]; or -1 in a reshape) rather than x.shape[1], "
                     f"which is None for a variable length; {_FIXED_LENGTH_HINT}")


def _length_variants(lengths):
    """The other lengths tried, each a mapping ``{example length: other length}`` applied to
    every length at once (a length of 1 stays): ``L - 1`` and about ``L / 2``.

    Shorter lengths only: a layer with a maximum length (a position table of
    ``sequence_length`` entries) takes any length up to it, and the example is taken to be
    within it; a length frozen into a weight or a shape fails at a shorter one as at a
    longer one. Lengths a new instance refuses are left out (see :func:`_taken_lengths`)."""
    variants = []
    for shorter in (lambda length: length - 1, lambda length: (length + 1) // 2):
        variant = {length: max(1, shorter(length)) for length in lengths}
        if variant not in variants and any(old != new for old, new in variant.items()):
            variants.append(variant)
    return variants


def _describe_lengths(lengths):
    return ", ".join(f"{old} -> {new}" for old, new in lengths.items())


def _symbolic_at(inputs, layer, batch_size, unknown_length=False):
    """Flat output shapes of ``layer`` called on ``keras.Input`` of ``inputs``."""
    return flat_shapes(inputs.call_symbolic(layer, batch_size, unknown_length=unknown_length))


def _taken_lengths(spec):
    """``[(lengths, inputs at those lengths, symbolic output shapes)]`` for the other lengths a
    new instance takes on ``keras.Input`` (batch size known). A length it refuses there is
    one it does not take by its own account (a valid convolution's kernel longer than the
    input; on Keras 3 an overridden compute_output_shape that raises), so not tried;
    NotApplicable when the inputs have no sequence axis, or every other length is refused
    (the target takes one length only)."""
    inputs = spec.inputs
    if not inputs.has_sequence_axes:
        raise NotApplicable("no input has a sequence (length) axis (axis 1 of integer ids or of a "
                            "rank-3 float input); mark one with !seq=AXIS")
    variants = _length_variants(inputs.lengths())
    if not variants:
        raise NotApplicable("every sequence axis has length 1 in the example: there is no shorter "
                            "length to try (give an example length of 3 or more)")
    taken, refused = [], []
    for lengths in variants:
        resized = inputs.with_lengths(lengths)
        try:
            taken.append((lengths, resized, _symbolic_at(resized, spec.new(), spec.batch_size)))
        except Exception as exc:  # noqa: BLE001 - a length it refuses is one it does not take
            refused.append(f"{_describe_lengths(lengths)}: {_error(exc)}")
    if not taken:
        try:
            _symbolic_at(inputs, spec.new(), spec.batch_size)
        except Exception as exc:  # noqa: BLE001 - check_output_shapes_agree reports it
            raise NotApplicable(f"a new instance refuses keras.Input even at the example length "
                                f"({_error(exc)}): check_output_shapes_agree reports it") from exc
        raise NotApplicable("a new instance refuses keras.Input at every other length tried ("
                            + "; ".join(refused) + "): it takes its example length only, or an input "
                            "the rule gives no sequence axis must vary with the others (mark its "
                            "axes !seq=AXIS)")
    return taken


def _length_axes(spec, lengths, inputs):
    """``(eager output shapes at the example length, for each output the axes whose size
    follows the length)``, learnt from new instances called eagerly at the example length
    and at ``lengths`` (``inputs``); no axis is known to follow where the outputs do not
    pair up or the call at ``lengths`` fails (check_lengths_vary reports that)."""
    eager = shapes_of(spec.call(spec.built(), spec.draw(), training=False))
    try:
        layer = spec.new()
        there = shapes_of(inputs.call(layer, inputs.draw(seed=1), training=False))
    except Exception:  # noqa: BLE001 - the other check's finding
        return eager, [()] * len(eager)
    if len(there) != len(eager):
        return eager, [()] * len(eager)
    return eager, [() if len(a) != len(b) else tuple(axis for axis, (x, y) in enumerate(zip(a, b)) if x != y)
                   for a, b in zip(eager, there)]


def _traced_unknown_length(layer, inputs, batch_size):
    """Output shapes of ``layer`` traced by tf.function with unknown lengths (how ``fit``
    traces batches padded to each batch's length); a violation if the trace raises."""

    def run(values):
        return inputs.call(layer, values, training=False)

    specs = inputs.tensor_specs(batch_size, unknown_length=True)
    try:
        concrete = tf.function(run).get_concrete_function(specs)
    except Exception as exc:  # noqa: BLE001
        raise ContractViolation(
            "a call inside tf.function with an unknown (None) length to work",
            f"tracing raised {_error(exc)}", hint=_NONE_LENGTH_HINT) from exc
    return flat_shapes(concrete.structured_outputs)


@contract("shapes", skipped_by=("fixed_length",))
def check_symbolic_unknown_length(spec):
    """The layer works on symbolic inputs whose sequence (length) axes are unknown (None), and its outputs leave unknown the dimensions that follow the length.

    The sequence axes are those of :meth:`~conformance.inputs.CallInputs.sequence_axes`
    (axis 1 of ids and of rank-3 float inputs, and their masks; ``!seq=`` says otherwise).
    Three views, as for an unknown batch: a new instance called on ``keras.Input`` with the
    lengths None (how the Functional API builds a variable-length model), the declared
    output (``compute_output_shape``/``compute_output_spec``) for None lengths, and a
    tf.function trace with None lengths (how ``fit`` traces padded batches). Which output
    dimensions follow the length is learnt from symbolic calls at two known lengths, so an
    output whose length legitimately differs (pooling, a strided convolution) is judged by
    the layer's own account. Skipped when no input has a sequence axis, or a new instance
    refuses every other known length.
    """
    taken = _taken_lengths(spec)
    lengths, inputs, _ = taken[0]
    eager, following = _length_axes(spec, lengths, inputs)
    layer = spec.new()
    batch = spec.batch_size
    try:
        symbolic = _symbolic_at(spec.inputs, layer, batch, unknown_length=True)
    except Exception as exc:  # noqa: BLE001 - user code failing here is the finding
        raise ContractViolation(
            "a call on keras.Input with unknown (None) lengths to work",
            f"it raised {_error(exc)}", hint=_NONE_LENGTH_HINT) from exc
    try:
        declared = _declared_shapes(layer, spec, batch, unknown_length=True)
    except ContractViolation as violation:
        raise ContractViolation(
            violation.expected.replace("for inputs of shape(s)", "for inputs of unknown length, shape(s)"),
            violation.seen, hint=_NONE_LENGTH_HINT) from violation
    for where, shapes in (
        ("on keras.Input", symbolic),
        (f"from {_declaring_method(layer)}", declared),
        ("inside tf.function", _traced_unknown_length(layer, spec.inputs, batch)),
    ):
        if shapes is None:
            continue
        # An output of another rank than the eager one is check_output_shapes_agree's finding.
        frozen = [shape for shape, axes, actual in zip(shapes, following, eager)
                  if shape is not None and len(shape) == len(actual)
                  and any(shape[axis] is not None for axis in axes)]
        expect(not frozen,
               f"every output dimension that follows the length to be None for unknown lengths "
               f"(eager output shape(s) {_text(eager)} at the example length, axes "
               f"{', '.join(str(axes) for axes in following)} following it)",
               lambda: f"output shape(s) {_text(shapes)} {where}",
               hint="an output's length must come from the inputs' (ops.shape(x)[1]), not from "
                    "the example's or a stored number")


def _output_masks(outputs):
    """For each output, ``(the shape of the Keras mask attached to it or None, whether that
    mask covers the output's leading axes as a padding mask carried along does)``."""
    masks = []
    for leaf in flatten(outputs):
        mask = compat.keras_mask(leaf)
        shape = None if mask is None else tuple(int(d) for d in mask.shape)
        masks.append((shape, shape is not None and tuple(leaf.shape[:len(shape)]) == shape))
    return masks


def _comparable_declared(layer, spec, inputs):
    """The declared output shapes for ``inputs`` at the example batch size, or None when the
    declaration cannot be compared (nothing declared, it raises: check_output_shapes_agree's
    finding, or it cannot see the constant call keywords)."""
    if _call_kwargs_unseen(layer, spec):
        return None
    try:
        return _declared_shapes(layer, spec, spec.batch_size, inputs=inputs)
    except ContractViolation:
        return None


@contract("shapes", skipped_by=("fixed_length",))
def check_lengths_vary(spec):
    """A layer built at one sequence length works eagerly at other lengths, and its symbolic and declared output shapes follow the length.

    The instance is built at the example length and called at two shorter ones (every
    distinct length at once, the masks with their inputs; seeded draws; see
    :func:`_length_variants` for why shorter). At each, the
    eager output shapes must be those a new instance gives on ``keras.Input`` at that length,
    and those ``compute_output_shape``/``compute_output_spec`` declares for it, wherever the
    two agree with the eager output at the example length (a disagreement there is
    check_output_shapes_agree's). A Keras mask carried on an output must follow it. Lengths
    a new instance refuses on ``keras.Input`` are not tried (see :func:`_taken_lengths`).
    """
    taken = _taken_lengths(spec)
    layer = spec.built()
    outputs = spec.call(layer, spec.draw(), training=False)
    eager = shapes_of(outputs)
    masks = _output_masks(outputs)
    symbolic = _symbolic_at(spec.inputs, spec.new(), spec.batch_size)
    declared = _comparable_declared(layer, spec, spec.inputs)
    for seed, (lengths, inputs, symbolic_there) in enumerate(taken, start=1):
        try:
            outputs_there = inputs.call(layer, inputs.draw(seed=seed), training=False)
        except Exception as exc:  # noqa: BLE001
            raise ContractViolation(
                f"a layer built at the example length ({spec.inputs.describe()}) to work at "
                f"lengths {_describe_lengths(lengths)}",
                f"a call on {inputs.describe()} raised {_error(exc)}",
                hint="the length must not be part of any weight or stored shape; "
                     + _FIXED_LENGTH_HINT) from exc
        eager_there = shapes_of(outputs_there)
        where = f"at lengths {_describe_lengths(lengths)}"
        for what, claimed, claimed_there in (
            ("a call of a new instance on keras.Input", symbolic, symbolic_there),
            (_declaring_method(layer), declared, _comparable_declared(layer, spec, inputs)),
        ):
            if claimed is None or claimed_there is None or len(claimed) != len(eager):
                continue
            wrong = [i for i, (c, e) in enumerate(zip(claimed, eager))
                     if _compatible(c, e) and not (i < len(claimed_there) and i < len(eager_there)
                                                   and _compatible(claimed_there[i], eager_there[i]))]
            expect(not wrong and len(claimed_there) == len(eager_there),
                   f"{what} {where} to give the eager output shape(s) {_text(eager_there)}, as it "
                   f"does at the example length",
                   lambda: f"it gives {_text(claimed_there)}",
                   hint="declared and symbolic shapes must follow the length, not keep the "
                        "example's")
        masks_there = _output_masks(outputs_there)
        lost = [i for i, (_, fits) in enumerate(masks) if fits
                and (i >= len(masks_there) or not masks_there[i][1])]
        expect(not lost, f"the Keras mask on output(s) {', '.join(map(str, lost))} to cover the output "
                         f"{where}, as it does at the example length",
               lambda: "mask shape(s) " + ", ".join(
                   str(masks_there[i][0] if i < len(masks_there) else None) for i in lost)
               + f" for output shape(s) {_text(eager_there)}",
               hint="compute_mask must follow the length of the inputs")
