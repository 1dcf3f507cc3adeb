"""Masking: masks are used, handed on with the right shape, and never dropped silently.

A mask reaches a layer two ways: as a call argument (``mask=``, ``attention_mask=``, a key
of a dict argument), declared among the inputs; or attached to its first input, as
``Embedding(mask_zero=True)`` or ``Masking`` attach one in a model. Checks of how a mask
is handed on attach the declared ``mask`` input to the first argument, or, when none is
declared, a padding mask over the first two axes of a sequence input.
"""

import warnings

import numpy as np
import tensorflow as tf

import keras_compat as compat
from conformance.catalogue import contract
from conformance.checks._common import defined_arrays, describe_failure, forward, run_step
from conformance.inputs import padding_mask
from conformance.outcomes import ContractViolation, NotApplicable, expect
from conformance.tensors import flatten, mismatch
from keras_compat import keras

#: Relative tolerance for "unchanged" outputs at the positions a mask keeps.
_SAME = 1e-5
_NO_MASK = "no mask input is declared (give one, e.g. --input mask=2,5:bool)"


def claims_mask_support(layer):
    """Whether the layer says it hands masks on: ``supports_masking``, or a ``compute_mask``
    of its own (Keras calls it on every masked call, whatever ``supports_masking`` says)."""
    return bool(layer.supports_masking) or not compat.defined_by_keras(type(layer), "compute_mask")


def _first_key(spec):
    """The input key of the call's first argument, when it is a single tensor; else None."""
    keys = spec.first_argument_keys()
    return keys[0] if len(keys) == 1 and spec.inputs.spec_of(keys[0]).item is None else None


class _Masked:
    """Example inputs as tensors, and the mask (or None) the call's first argument carries."""

    def __init__(self, values, first_key, mask, source):
        self.values, self.first_key, self.mask, self.source = values, first_key, mask, source

    @classmethod
    def with_mask(cls, spec, seed=1):
        """The declared ``mask`` input attached to the first argument, or else a padding
        mask over the time axis of a float sequence; not applicable without either."""
        values = spec.example_tensors(seed=seed)
        first_key = _first_key(spec)
        if first_key is None:
            raise NotApplicable("the first call argument is not a single tensor to attach a mask to")
        first = spec.inputs.spec_of(first_key)
        declared = [key for key, s in spec.inputs if s.is_mask and s.name == "mask"]
        if declared:
            mask = tf.cast(values[declared[0]], tf.bool)  # a 0/1 mask in another dtype
            if tuple(mask.shape) != first.shape[:len(mask.shape)]:
                raise NotApplicable(f"the declared mask of shape {tuple(mask.shape)} does not "
                                    "cover the leading axes of the first input")
            return cls(values, first_key, mask, f"the declared input {declared[0]!r}")
        if first.is_float and len(first.shape) == 3:
            shape = first.shape[:2]
            mask = tf.constant(padding_mask(shape, np.random.default_rng(seed)))
            return cls(values, first_key, mask, f"a padding mask of shape {shape} attached to the first input")
        raise NotApplicable("no mask to give: no mask input is declared and the first input "
                            "is not a float sequence (batch, time, features)")

    @classmethod
    def without_mask(cls, spec, seed=1):
        return cls(spec.example_tensors(seed=seed), _first_key(spec), None, "no input mask")

    def attached(self):
        """A fresh copy of the inputs whose first argument carries the mask (if any)."""
        values = dict(self.values)
        first = tf.identity(values[self.first_key])
        if self.mask is not None:
            compat.attach_keras_mask(first, self.mask)
        values[self.first_key] = first
        return values


def _mask_setting(spec, layer):
    """The inputs to check a mask-supporting layer on: with a mask attached when there is one
    to give; else unmasked, when the layer makes a mask itself (``Embedding(mask_zero=True)``);
    else not applicable."""
    try:
        return _Masked.with_mask(spec)
    except NotApplicable as no_input_mask:
        unmasked = _Masked.without_mask(spec)
        if unmasked.first_key is None:
            raise
        declared = layer.compute_mask(unmasked.values[unmasked.first_key], None)
        if declared is None or all(m is None for m in flatten(declared)):
            raise no_input_mask
        return unmasked


def _masks_of(outputs):
    return [compat.keras_mask(tensor) for tensor in flatten(outputs)]


def _as_mask_list(declared, count):
    if declared is None:
        return [None] * count
    masks = flatten(declared, keep_none=True)
    return masks + [None] * (count - len(masks))


def _describe_mask(mask):
    return "no mask" if mask is None else f"a mask of shape {tuple(mask.shape)}"


def _same_mask(a, b):
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.array_equal(a.astype(bool), b.astype(bool))


def _needs_mask_support(layer):
    if not claims_mask_support(layer):
        raise NotApplicable("the layer does not support masking (supports_masking is False and "
                            "compute_mask is Keras's); check_dropped_mask_reported covers a "
                            "time-local layer that drops a mask")


def _compare_with_compute_mask(outputs, declared, source):
    """Each output carries the mask ``compute_mask`` declared for it, covering its leading axes."""
    leaves = flatten(outputs, keep_none=True)
    paired = [(tensor, wanted) for tensor, wanted in zip(leaves, _as_mask_list(declared, len(leaves)))
              if tensor is not None]  # a None output has no mask to carry
    tensors = [tensor for tensor, _ in paired]
    for index, (tensor, wanted) in enumerate(paired):
        on_output = compat.keras_mask(tensor)
        where = "the output" if len(tensors) == 1 else f"output {index}"
        expect(_same_mask(on_output, wanted),
               f"{where} to carry the mask compute_mask returns ({_describe_mask(wanted)}), given "
               f"{source}", f"{_describe_mask(on_output)} on {where}",
               hint="a layer that sets its own output mask in call() must agree with compute_mask")
        if wanted is not None:
            rank = len(wanted.shape)
            expect(tuple(wanted.shape) == tuple(tensor.shape[:rank]),
                   f"a mask covering the leading axes of {where}, of shape {tuple(tensor.shape[:rank])}",
                   f"compute_mask returns a mask of shape {tuple(wanted.shape)} for {where} of shape "
                   f"{tuple(tensor.shape)}",
                   hint="a layer that changes the time axis (pooling, strides, cropping) must "
                        "override compute_mask, or return None if the output has no time axis")


@contract("masking")
def check_mask_propagation(spec):
    """A layer that supports masking hands on the mask it declares: each output carries what ``compute_mask`` returns, and a mask covers its output's leading axes."""
    layer = spec.built()
    _needs_mask_support(layer)
    masked = _mask_setting(spec, layer)
    outputs = spec.call(layer, masked.attached(), training=False)
    defined_arrays(spec, outputs)
    first = masked.attached()[masked.first_key]
    declared = run_step("compute_mask(inputs, mask) to return the output mask",
                        layer.compute_mask, first, masked.mask)
    _compare_with_compute_mask(outputs, declared, masked.source)


def _hidden_positions(role, values):
    """(batch, length) bool array of the positions ``role``'s mask hides."""
    mask = np.asarray(values[role.mask]).astype(bool)
    return ~mask.any(axis=1) if role.attention else ~mask


def _changed_at(spec, array, hidden, key, rng):
    """``array`` with new values at the ``hidden`` (batch, length) positions."""
    tensor_spec = spec.inputs.spec_of(key)
    array = np.array(array)
    where = hidden.reshape(hidden.shape + (1,) * (array.ndim - 2))
    where = np.broadcast_to(where, array.shape)
    if tensor_spec.is_int:
        span = tensor_spec.high - tensor_spec.low
        if span < 2:
            return None
        shifted = tensor_spec.low + (array - tensor_spec.low + rng.integers(1, span, size=array.shape)) % span
        replacement = shifted.astype(array.dtype)
    else:
        replacement = (array + 3.0 + 2.0 * rng.standard_normal(array.shape)).astype(array.dtype)
    return np.where(where, replacement, array)


def _kept(arrays, hidden):
    """Each output at the positions kept: outputs whose second axis is the masked axis lose
    the hidden positions (flattened); other outputs are kept whole."""
    kept = []
    for array in arrays:
        if array.ndim >= 2 and array.shape[:2] == hidden.shape:
            kept.append(array[~hidden])
        else:
            kept.append(array)
    return kept


@contract("masking")
def check_masked_values_ignored(spec):
    """A layer given a mask gives, at the positions the mask keeps, outputs that do not depend on the input values at the positions it hides."""
    roles = spec.inputs.mask_roles()
    if not roles:
        raise NotApplicable(_NO_MASK)
    layer = spec.built()
    values = spec.draw(seed=1)
    base = forward(spec, layer, values, training=False)
    rng = np.random.default_rng(5)
    checked = 0
    for role in roles:
        hidden = _hidden_positions(role, values)
        if not hidden.any():
            continue
        changed = dict(values)
        for key in role.governs:
            replacement = _changed_at(spec, values[key], hidden, key, rng)
            if replacement is not None:
                changed[key] = replacement
        if all(changed[key] is values[key] for key in role.governs):
            continue
        checked += 1
        seen = forward(spec, layer, changed, training=False)
        difference = mismatch(_kept(base, hidden), _kept(seen, hidden), _SAME)
        expect(not difference,
               f"the outputs at the positions {role.mask!r} keeps to stay the same when "
               f"{', '.join(repr(k) for k in role.governs)} change at the {int(hidden.sum())} "
               "positions it hides", difference,
               hint="use the mask in call(): average or attend over the kept positions only, "
                    "and pass the mask on to the sublayers that take one")
    if not checked:
        raise NotApplicable("the declared mask hides no position of an input it applies to")


class _AttachMask(keras.layers.Layer):
    """``[x, mask]`` -> ``x`` carrying ``mask``: a mask source for a Functional model."""

    def call(self, inputs):
        return tf.identity(inputs[0])

    def compute_mask(self, inputs, mask=None):
        return inputs[1]


class _MaskOf(keras.layers.Layer):
    """``x`` -> the mask ``x`` carries, as a tensor a Functional model can output."""

    def call(self, inputs, mask=None):
        return tf.identity(mask)

    def compute_mask(self, inputs, mask=None):
        return None  # the mask is this layer's output


def _functional_masks(spec, layer, masked):
    """The masks a Functional model gives the layer's outputs, when the model attaches the
    mask to its first input as a mask-producing layer would: (symbolic masks, a model
    computing the masks that are not None)."""
    symbols = spec.inputs.symbolic()
    attached = dict(symbols)
    model_inputs = [spec.inputs.model_structure(symbols)]
    if masked.mask is not None:
        mask_input = keras.Input(shape=tuple(masked.mask.shape[1:]), dtype="bool")
        attached[masked.first_key] = _AttachMask()([symbols[masked.first_key], mask_input])
        model_inputs.append(mask_input)
    outputs = flatten(spec.inputs.call(layer, attached))
    symbolic = _masks_of(outputs)
    present = [_MaskOf()(tensor) for tensor, mask in zip(outputs, symbolic) if mask is not None]
    model = keras.Model(model_inputs, present) if present else None
    return symbolic, model


@contract("masking")
def check_compute_mask_matches_functional(spec):
    """``compute_mask`` works on symbolic inputs, and the masks a Functional model gives the layer's outputs equal those of an eager call."""
    layer = spec.built()
    _needs_mask_support(layer)
    masked = _mask_setting(spec, layer)
    eager = _masks_of(spec.call(layer, masked.attached(), training=False))
    try:
        symbolic, model = _functional_masks(spec, layer, masked)
    except Exception as exc:  # noqa: BLE001 - the layer's masking failed on symbolic inputs
        raise ContractViolation("the layer, given a masked keras.Input, to build a Functional model",
                                describe_failure(exc),
                                hint="compute_mask runs on symbolic tensors in the Functional API: "
                                     "no .numpy(), NumPy calls or Python branching on values") from exc
    for index, (on_eager, on_symbolic) in enumerate(zip(eager, symbolic)):
        where = "the output" if len(eager) == 1 else f"output {index}"
        expect((on_eager is None) == (on_symbolic is None),
               f"{where} to carry a mask in a Functional model exactly when it does eagerly "
               f"({_describe_mask(on_eager)})", f"{_describe_mask(on_symbolic)} in the Functional model")
    if model is None:
        return
    data = [spec.inputs.model_structure(masked.values)] + ([] if masked.mask is None else [masked.mask])
    computed = run_step("the Functional model to compute the masks on the example inputs",
                        lambda: flatten(model(data, training=False)))
    wanted = [mask for mask in eager if mask is not None]
    for index, (on_eager, on_model) in enumerate(zip(wanted, computed)):
        where = "the output" if len(wanted) == 1 else f"masked output {index}"
        expect(_same_mask(on_eager, on_model),
               f"the mask of {where} in a Functional model to equal the eager one "
               f"({_describe_mask(on_eager)})",
               f"{_describe_mask(on_model)}" + (
                   f" differing at {int(np.sum(np.asarray(on_eager) != np.asarray(on_model)))} positions"
                   if np.shape(on_eager) == np.shape(on_model) else ""))


def _takes_mask_argument(spec):
    """How the layer takes its mask as an argument, or None: ``call`` takes the mask of its
    first input (``mask``, or ``<first>_mask`` as ``query_mask``), or the call is given a
    mask explicitly (``padding_mask=``, ``[x, attention_mask]``, ``inputs.padding_mask``)."""
    named = [p for p in spec.call_parameters() if p in ("mask", f"{spec.first_call_parameter}_mask")]
    if named:
        return f"call() takes {named[0]}"
    explicit = [s.name or key for key, s in spec.inputs if s.is_mask and s.name != "mask"]
    if explicit:
        return f"the call is given the mask(s) {', '.join(repr(k) for k in explicit)} explicitly"
    return None


def _outputs_keeping_axis(outputs, mask_shape):
    """Positions of the floating-point outputs (None outputs left out) that keep the masked
    axes. A bool output is itself a mask; an integer one holds ids or indices, from which
    Keras makes a mask (``Embedding(mask_zero=True)``) rather than carrying one on them."""
    kept = []
    for index, tensor in enumerate(flatten(outputs)):
        if tuple(tensor.shape[:len(mask_shape)]) == tuple(mask_shape) and tf.as_dtype(tensor.dtype).is_floating:
            kept.append(index)
    return kept


def _with_step_redrawn(spec, masked, step):
    """``masked`` with the first input's values at time ``step`` redrawn (from another
    draw of the spec, so the new values stay in the input's domain)."""
    first = np.array(masked.values[masked.first_key])
    other = np.asarray(spec.draw(seed=7)[masked.first_key])
    first[:, step] = other[:, step]
    values = dict(masked.values)
    values[masked.first_key] = tf.constant(first)
    return _Masked(values, masked.first_key, masked.mask, masked.source)


def _other_steps(array, step):
    return np.delete(np.asarray(array), step, axis=1)


def _own_step(array, step):
    return np.asarray(array)[:, step]


def _quiet_call(spec, layer, masked):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return defined_arrays(spec, spec.call(layer, masked.attached(), training=False))


def _time_dependence(spec, layer, masked, base, positions):
    """How the outputs at ``positions`` depend on the steps of the first input, measured by
    redrawing its first and its last step: ``"mixed"`` (other steps' outputs move; a layer
    that mixes steps mixes one of these two), ``"local"`` (only that step's output moves) or
    ``"none"`` (nothing moves: the outputs do not depend on the input's values)."""
    length = masked.mask.shape[1]
    moved = False
    for step in sorted({0, length - 1}):
        seen = _quiet_call(spec, layer, _with_step_redrawn(spec, masked, step))
        if mismatch([_other_steps(base[i], step) for i in positions],
                    [_other_steps(seen[i], step) for i in positions], _SAME):
            if mismatch([base[i] for i in positions], [_quiet_call(spec, layer, masked)[i] for i in positions],
                        _SAME):
                raise NotApplicable("the inference output changes from one call to the next: "
                                    "whether the layer mixes time steps cannot be measured")
            return "mixed"
        moved = moved or bool(mismatch([_own_step(base[i], step) for i in positions],
                                       [_own_step(seen[i], step) for i in positions], _SAME))
    return "local" if moved else "none"


@contract("masking")
def check_dropped_mask_reported(spec):
    """A time-local layer (each step's output depends only on that step's input) whose output keeps the masked axes hands the input's mask on; only a layer that mixes time steps may drop it.

    Measured: the mask is attached to the first input (as ``Embedding(mask_zero=True)``
    would), and the first and the last step of that input are redrawn to see whether other
    steps' outputs move. Keras 3's warning that a layer "will destroy the mask" does not
    make the drop right: the layers downstream still see no mask. Not applicable to a layer
    that takes its mask as an argument (``mask``, ``padding_mask=``, ``[x, attention_mask]``:
    ``check_masked_values_ignored`` judges what it does with it). Only floating-point
    outputs are judged: a bool output is itself a mask, an integer one holds ids or indices.
    """
    taken = _takes_mask_argument(spec)
    if taken is not None:
        raise NotApplicable(f"{taken}; check_masked_values_ignored judges what it does with the mask")
    masked = _Masked.with_mask(spec)
    layer = spec.built()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            outputs = spec.call(layer, masked.attached(), training=False)
        except Exception as exc:  # noqa: BLE001
            if compat.reports_dropped_mask(exc):
                return  # refused with a message: the mask is not lost silently
            raise
    keras_warned = any(compat.reports_dropped_mask(w.message) for w in caught)
    base = defined_arrays(spec, outputs)
    tensors = flatten(outputs)
    if any(mask is not None for mask in _masks_of(outputs)):
        return  # handed on (Keras itself hands a single mask on with the first output only)
    dropped = _outputs_keeping_axis(outputs, masked.mask.shape)
    if not dropped:
        return
    if masked.mask.shape[1] < 2:
        raise NotApplicable("the masked axis has a single step: whether the layer mixes steps "
                            "cannot be measured")
    dependence = _time_dependence(spec, layer, masked, base, dropped)
    if dependence == "mixed":
        return  # a layer that mixes time steps may drop the mask
    if dependence == "none":
        raise NotApplicable("the outputs that keep the masked axes do not depend on the values of "
                            "the masked input (a position encoding): the mask says nothing about them")
    if len(tensors) == 1:
        where, keeps = "the output", "keeps"
    else:
        where = f"output {dropped[0]}" if len(dropped) == 1 else f"outputs {', '.join(map(str, dropped))}"
        keeps = "keeps" if len(dropped) == 1 else "keep"
    said = " (Keras warned that the layer destroys the mask, and dropped it)" if keras_warned else ""
    if claims_mask_support(layer):
        hint = ("compute_mask returns None: return the input mask (or a new one) from compute_mask "
                "when the output keeps the time steps")
    else:
        hint = "set self.supports_masking = True in __init__, so Keras hands the mask on"
    raise ContractViolation(
        f"{where}, which {keeps} the masked axes {tuple(masked.mask.shape)} with each step "
        f"depending only on the same input step, to carry the mask, given {masked.source}",
        f"no mask on any output: the mask is dropped{said}",
        hint=hint)
