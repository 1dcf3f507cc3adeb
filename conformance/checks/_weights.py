"""Trainable weights as the gradient checks probe them: re-drawn off degenerate values, and
tested for whether the output depends on them at all."""

import inspect

import numpy as np

import keras_compat as compat
from conformance.tensors import as_arrays, flatten


def float_weights(weights):
    return [w for w in weights if compat.dtype_name(w.dtype).startswith(("float", "bfloat"))]


def _is_constant(array):
    return array.size > 0 and bool(np.all(array == array.flat[0]))


def redraw_degenerate(weights, seed):
    """Give every trainable float weight whose values are all equal (a ReZero gate or a
    residual branch initialised to exactly 0, a bias, a norm's gamma of ones) seeded,
    non-degenerate values: ``N(0, 0.5)`` for zeros, ``c * exp(N(0, 0.3))`` (same sign) for a
    constant ``c``. A constant that is zero gates off the gradient of everything behind it."""
    rng = np.random.default_rng(seed)
    for weight in float_weights(weights):
        value = np.array(weight)
        if not _is_constant(value):
            continue
        if value.flat[0] == 0:
            new = rng.standard_normal(value.shape) * 0.5
        else:
            new = value * np.exp(0.3 * rng.standard_normal(value.shape))
        weight.assign(new.astype(value.dtype))


def jitter(weights, seed, relative=0.05):
    """Move every trainable float weight by a small seeded amount (relative to its own
    values; zeros move by ``relative``), so that no pre-activation sits exactly on a kink
    (a ReLU at 0 after a bias-free conv and a norm whose beta is 0)."""
    rng = np.random.default_rng(seed)
    for weight in float_weights(weights):
        value = np.array(weight)
        scale = np.abs(value) if np.any(value) else np.ones_like(value)
        weight.assign((value + relative * scale * rng.standard_normal(value.shape)).astype(value.dtype))


def _float_outputs(outputs):
    return [a.astype("float64") for a in as_arrays(flatten(outputs))
            if np.issubdtype(a.dtype, np.number) or a.dtype == bool]


def _largest_difference(a, b):
    if len(a) != len(b):
        return np.inf
    diffs = [0.0]
    for x, y in zip(a, b):
        if x.shape != y.shape:
            return np.inf
        both = np.isfinite(x) & np.isfinite(y)
        if np.any(np.isfinite(x) != np.isfinite(y)):
            return np.inf
        if x.size:
            diffs.append(float(np.max(np.abs(x[both] - y[both]), initial=0.0)))
    return max(diffs)


def output_depends_on(run, weight, seed):
    """Whether moving ``weight`` well away from its value changes the outputs ``run()``
    gives: beyond what two unmoved calls differ by, and beyond float rounding. The weight
    is restored."""
    original = np.array(weight)
    base, again = _float_outputs(run()), _float_outputs(run())
    noise = _largest_difference(base, again)
    rng = np.random.default_rng(seed)
    scale = max(float(np.sqrt(np.mean(original.astype("float64") ** 2))) if original.size else 0.0, 0.5)
    try:
        weight.assign((original + scale * rng.standard_normal(original.shape)).astype(original.dtype))
        moved = _float_outputs(run())
    finally:
        weight.assign(original)
    magnitude = max([float(np.max(np.abs(a[np.isfinite(a)]), initial=0.0)) for a in base] + [1e-30])
    return _largest_difference(base, moved) > max(10 * noise, 1e-6 * magnitude)


def other_call_modes(spec):
    """How else ``call`` could be called than the spec calls it: each optional argument the
    spec does not give (``reverse=...``), each one it gives and could leave out (a mask),
    and ``*args``/``**kwargs``. A weight unused in this call may be used in one of those."""
    try:
        parameters = list(inspect.signature(spec.cls.call).parameters.values())[1:]
    except (TypeError, ValueError):
        return ["a call signature that cannot be read"]
    given = set(spec.call_kwargs) | {s.argument for s in spec.inputs.inputs if s.argument}
    if any(s.argument is None for s in spec.inputs.inputs) and parameters:
        given.add(parameters[0].name)
    modes = []
    for parameter in parameters:
        name = parameter.name
        if parameter.kind is parameter.VAR_POSITIONAL:
            modes.append(f"*{name}")
        elif parameter.kind is parameter.VAR_KEYWORD:
            modes.append(f"**{name}")
        elif name == "training" or parameter.default is parameter.empty:
            continue
        elif name in given:
            modes.append(f"{name} left out" if name not in spec.call_kwargs
                         else f"{name} other than {spec.call_kwargs[name]!r}")
        elif name != "mask":  # Keras passes masks itself; none given is the plain call
            modes.append(f"{name}=...")
    return modes
