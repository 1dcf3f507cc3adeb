"""What is checked: a class, its constructor kwargs, example input shapes and declarations."""

import inspect
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np

from keras_compat import keras
from conformance.outcomes import TargetUnusable, describe_exception
from conformance.tensors import single_or_list

#: Traits a user may declare because the checker cannot detect them. Each one turns the
#: checks it concerns into skips that say so.
DECLARABLE_TRAITS = {
    "batch_dependent": "inference output of a sample depends on the rest of its batch",
    "not_xla_compatible": "cannot be compiled with XLA (jit_compile=True) by design",
    "stochastic_inference": "inference output is random by design",
    "stateful_inference": "inference updates variables by design",
    "no_float64": "does not support a float64 dtype policy by design",
    "no_mixed_precision": "does not support mixed precision by design",
}

@dataclass
class CheckSpec:
    """A target for the checks.

    ``input_shapes`` holds one shape per input, batch dimension first (several shapes
    for a multi-input layer or model, which is then called with a list). ``traits`` are
    declarations from :data:`DECLARABLE_TRAITS`. ``expected_failures`` maps check ids to
    the reason they are expected to fail. ``import_path`` (``pkg.module:Class`` or
    ``path/to/file.py:Class``) tells a fresh process how to import the class.
    """

    cls: type
    input_shapes: Sequence[Sequence[int]]
    kwargs: Mapping = field(default_factory=dict)
    traits: frozenset = frozenset()
    expected_failures: Mapping = field(default_factory=dict)
    strict: bool = False
    reference: Optional[str] = None
    reference_kwargs: Optional[Mapping] = None
    tier: str = "fast"
    timeout: float = 180.0
    label: Optional[str] = None
    import_path: Optional[str] = None

    def __post_init__(self):
        if not isinstance(self.cls, type) or not issubclass(self.cls, keras.layers.Layer):
            raise TypeError(f"{self.cls!r} is not a keras.layers.Layer subclass")
        shapes = [tuple(int(d) for d in shape) for shape in self.input_shapes]
        if not shapes or any(len(s) < 2 or min(s) < 1 for s in shapes):
            raise ValueError(
                "input_shapes needs one shape per input, each with a batch dimension and at "
                f"least one more positive dimension, got {list(self.input_shapes)}"
            )
        self.input_shapes = shapes
        self.kwargs = dict(self.kwargs)
        self.traits = frozenset(self.traits)
        unknown = self.traits - set(DECLARABLE_TRAITS)
        if unknown:
            raise ValueError(
                f"unknown traits {sorted(unknown)}; declarable: {sorted(DECLARABLE_TRAITS)}"
            )
        self.expected_failures = dict(self.expected_failures)
        if self.tier not in ("fast", "full"):
            raise ValueError(f"tier must be 'fast' or 'full', got {self.tier!r}")
        if self.label is None:
            self.label = f"{self.cls.__module__}:{self.cls.__qualname__}"

    # -- what the target is -------------------------------------------------------------

    @property
    def is_model(self):
        return issubclass(self.cls, keras.Model)

    @property
    def kind(self):
        return "model" if self.is_model else "layer"

    @property
    def multi_input(self):
        return len(self.input_shapes) > 1

    @property
    def batch_size(self):
        return self.input_shapes[0][0]

    def has_trait(self, trait):
        return trait in self.traits

    def constructor_defaults(self):
        """``{argument: default}`` of the class's ``__init__`` (arguments with defaults)."""
        params = inspect.signature(self.cls.__init__).parameters
        return {
            name: p.default
            for name, p in params.items()
            if p.default is not inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def call_accepts(self, argument):
        """Whether ``call`` declares ``argument`` (``training``, ``mask``...)."""
        return argument in inspect.signature(self.cls.call).parameters

    # -- making instances and inputs ------------------------------------------------------

    def new(self, **overrides):
        """A new, unbuilt instance with the spec's kwargs (``overrides`` win)."""
        kwargs = dict(self.kwargs)
        kwargs.update(overrides)
        return self.cls(**kwargs)

    def built(self, **overrides):
        """A new instance, called once in inference on example inputs so it is built."""
        instance = self.new(**overrides)
        instance(self.inputs(seed=0), training=False)
        return instance

    def inputs(self, batch_size=None, seed=0, dtype="float32", scale=1.0):
        """Standard-normal example inputs: one array, or a list for several inputs."""
        rng = np.random.default_rng(seed)
        arrays = []
        for shape in self.input_shapes:
            full = (batch_size or shape[0],) + tuple(shape[1:])
            arrays.append((rng.standard_normal(full) * scale).astype(dtype))
        return single_or_list(arrays)

    def symbolic_inputs(self, dtype=None):
        """``keras.Input`` objects with an unknown batch size, one per input."""
        inputs = [keras.Input(shape=tuple(s[1:]), dtype=dtype) for s in self.input_shapes]
        return single_or_list(inputs)

    def model_of(self, instance):
        """``instance`` itself if it is a model, else a Functional model calling it."""
        from conformance.wrapping import ensure_model

        return ensure_model(instance, self.input_shapes)

    def example_shape_text(self):
        return ", ".join("x".join(str(d) for d in s) for s in self.input_shapes)

    # -- the reference -------------------------------------------------------------------

    def reference_entry(self):
        if self.reference is None:
            return None
        from conformance import references

        return references.get(self.reference)

    def new_reference(self):
        """The reference class built with ``reference_kwargs`` (or the target's kwargs)."""
        entry = self.reference_entry()
        kwargs = self.kwargs if self.reference_kwargs is None else self.reference_kwargs
        return entry.cls(**dict(kwargs))

    def built_reference(self):
        reference = self.new_reference()
        reference(self.inputs(seed=0), training=False)
        return reference


def ensure_usable(spec):
    """Construct and call the target once; raise :class:`TargetUnusable` if that fails."""
    try:
        spec.built()
    except Exception as exc:  # noqa: BLE001 - any failure here makes every check moot
        raise TargetUnusable(
            f"{spec.label}({spec.kwargs}) could not be built and called on inputs of shape "
            f"{spec.example_shape_text()}: {describe_exception(exc)}"
        ) from exc


def spec_for_reference(name, **kwargs):
    """A :class:`CheckSpec` for a registered reference (its own class, kwargs and shapes)."""
    from conformance import references

    entry = references.get(name)
    merged = entry.kwargs(**kwargs)
    return CheckSpec(
        cls=entry.cls,
        kwargs=merged,
        input_shapes=entry.shapes(**merged),
        reference=name,  # each reference is also checked against itself
        label=f"reference_models:{name}",
        import_path=f"{entry.cls.__module__}:{entry.cls.__qualname__}",
    )
