"""What is checked: a class, its constructor kwargs, example input shapes and declarations."""

import inspect
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np

from keras_compat import keras
from conformance.inputs import CallInputs, TensorInput
from conformance.options import DEFAULT_TIMEOUT

from conformance.traits import DECLARABLE_TRAITS  # noqa: F401  (re-exported)


@dataclass
class CheckSpec:
    """A target for the checks.

    What it is called with is ``inputs``: input descriptions (``"query=2,5,8"``,
    ``"3,6:int32@0..20"``, :class:`~conformance.inputs.TensorInput` objects, or a
    :class:`~conformance.inputs.CallInputs`), and ``call_kwargs``, constant keyword
    arguments of every call. ``input_shapes`` is the shorthand for positional float32
    inputs: one shape per input, batch dimension first (several make a list). ``traits``
    are declarations from :data:`DECLARABLE_TRAITS`. ``expected_failures`` maps check ids
    to the reason they are expected to fail. ``import_path`` (``pkg.module:Class`` or
    ``path/to/file.py:Class``) tells a fresh process how to import the class.

    ``kwargs`` may hold Keras objects in Keras's serialized form (``{"class_name": "LSTM",
    "config": {...}}``, with ``"module"``/``"registered_name"`` as Keras writes them):
    each new instance gets freshly deserialized ones (safe mode on), so no two instances
    share a sublayer. ``kwargs_factory`` (``"pkg.module:function"``, ``"file.py:function"``
    or a callable) returns more kwargs (tensors, arrays, objects), called for each
    instance; its kwargs win. ``loss_outputs`` names the outputs the training-based checks
    put a loss on (default: every floating-point output with a batch axis);
    ``unbatched_outputs`` names outputs without a batch axis that the checks cannot tell
    apart; ``float32_outputs`` names outputs kept in float32 by design, under mixed
    precision and float64 (the trait ``float32_outputs`` declares it for every output).
    ``golden`` is a folder of golden files (recorded outputs, see :mod:`conformance.golden`);
    ``update_golden`` records them again instead of comparing. An output is named by
    its place in the output structure (``"0"``, ``"logits"``,
    ``"1.cache"``) or its position in the flat list of outputs.
    """

    cls: type
    input_shapes: Sequence[Sequence[int]] = ()
    kwargs: Mapping = field(default_factory=dict)
    traits: frozenset = frozenset()
    expected_failures: Mapping = field(default_factory=dict)
    strict: bool = False
    reference: Optional[str] = None
    reference_kwargs: Optional[Mapping] = None
    weight_map: object = None
    tier: str = "fast"
    timeout: float = DEFAULT_TIMEOUT
    label: Optional[str] = None
    import_path: Optional[str] = None
    inputs: Sequence = ()
    call_kwargs: Optional[Mapping] = None
    kwargs_factory: object = None
    loss_outputs: Optional[Sequence] = None
    unbatched_outputs: Sequence = ()
    float32_outputs: Sequence = ()
    golden: Optional[str] = None
    update_golden: bool = False

    def __post_init__(self):
        if not isinstance(self.cls, type) or not issubclass(self.cls, keras.layers.Layer):
            raise TypeError(f"{self.cls!r} is not a keras.layers.Layer subclass")
        if not isinstance(self.inputs, CallInputs):
            if isinstance(self.inputs, (str, TensorInput)):
                self.inputs = [self.inputs]
            if not self.inputs and not self.input_shapes:
                raise ValueError("give what the target is called with: inputs=[...] "
                                 "(e.g. ['3,7'] or ['query=2,5,8', 'value=2,5,8']) or input_shapes")
            self.inputs = CallInputs.of(self.inputs, self.input_shapes, self.call_kwargs)
        elif self.call_kwargs is not None:
            self.inputs = CallInputs.of(self.inputs, call_kwargs=self.call_kwargs)
        self.call_kwargs = dict(self.inputs.call_kwargs)
        self.input_shapes = [spec.shape for spec in self.inputs.inputs]
        self.kwargs = dict(self.kwargs)
        self._factory = None if self.kwargs_factory is None else _factory(self.kwargs_factory)
        self.constructor_kwargs()  # a kwarg that cannot be deserialized fails here, once
        for label in ("loss_outputs", "unbatched_outputs", "float32_outputs"):
            names = getattr(self, label)
            if names is not None:
                if isinstance(names, (str, int)):
                    names = [names]
                setattr(self, label, tuple(str(name) for name in names))
        self.traits = frozenset(self.traits)
        unknown = self.traits - set(DECLARABLE_TRAITS)
        if unknown:
            raise ValueError(
                f"unknown traits {sorted(unknown)}; declarable: {sorted(DECLARABLE_TRAITS)}"
            )
        self.expected_failures = dict(self.expected_failures)
        if self.weight_map is not None:
            self._check_weight_map()
        if self.reference is not None:
            self.reference_entry()  # a reference that names nothing usable fails here, once
        self.tier, self.timeout = (_validated(name, getattr(self, name)) for name in ("tier", "timeout"))
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
    def batch_size(self):
        return self.inputs.batch_size

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

    def call_parameters(self):
        """The names of ``call``'s parameters, ``self`` left out."""
        return list(inspect.signature(self.cls.call).parameters)[1:]

    @property
    def first_call_parameter(self):
        """The name of ``call``'s first parameter (``self`` left out), or None."""
        parameters = self.call_parameters()
        return parameters[0] if parameters else None

    def first_argument_keys(self):
        """The keys of the inputs that make up the call's first argument."""
        return self.inputs.first_argument_keys(self.first_call_parameter)

    def call_accepts(self, argument):
        """Whether ``call`` declares ``argument`` (``training``, ``mask``...)."""
        return argument in self.call_parameters()

    # -- making instances, inputs and calls ----------------------------------------------

    def constructor_kwargs(self):
        """The kwargs an instance is made with: ``kwargs`` with Keras objects deserialized
        afresh, updated with what ``kwargs_factory`` returns (a new call each time)."""
        kwargs = {name: _deserialized(value, f"kwargs[{name!r}]") for name, value in self.kwargs.items()}
        if self._factory is not None:
            made = self._factory()
            if not isinstance(made, Mapping):
                raise TypeError(f"kwargs_factory {self.kwargs_factory!r} returned "
                                f"{type(made).__name__}, not a dict of kwargs")
            kwargs.update(made)
        return kwargs

    def new(self, **overrides):
        """A new, unbuilt instance with the spec's kwargs (``overrides`` win)."""
        kwargs = self.constructor_kwargs()
        kwargs.update(overrides)
        return self.cls(**kwargs)

    def built(self, **overrides):
        """A new instance, called once in inference on example inputs so it is built."""
        instance = self.new(**overrides)
        self.call(instance, self.draw(seed=0), training=False)
        return instance

    def draw(self, batch_size=None, seed=0, float_dtype=None, scale=1.0):
        """Example inputs ``{key: array}`` (see :meth:`CallInputs.draw`)."""
        return self.inputs.draw(batch_size=batch_size, seed=seed, float_dtype=float_dtype, scale=scale)

    def example_tensors(self, seed=0, float_dtype=None):
        """Example inputs drawn with ``seed`` as ``{key: tensor}``, float inputs cast to
        ``float_dtype`` if given."""
        return self.inputs.as_tensors(self.draw(seed=seed), float_dtype=float_dtype)

    def call(self, target, values, **extra):
        """``target`` (the instance, or a model of it from :meth:`model_of`) called on
        ``values`` as the spec says, with ``extra`` keywords such as ``training``."""
        if self._wrapped(target):
            return target(self.inputs.model_structure(values), **extra)
        return self.inputs.call(target, values, **extra)

    @property
    def feeds_model_directly(self):
        """Whether a model target takes the inputs as its first argument alone (so ``fit``
        can feed it) rather than through a Functional wrapper."""
        return self.is_model and self.inputs.first_argument_only(self.first_call_parameter)

    def model_of(self, instance):
        """``instance`` itself if it is a model ``fit`` can feed, else a Functional model
        calling it."""
        if isinstance(instance, keras.Model) and self.feeds_model_directly:
            return instance
        return self.inputs.wrap(instance)

    def _wrapped(self, model):
        """Whether ``model`` is a Functional wrapper of the target (or one loaded from a file)
        rather than the target itself."""
        return isinstance(model, keras.Model) and not isinstance(model, self.cls)

    def model_data(self, model, values):
        """``values`` as ``model`` (from :meth:`model_of`) takes them in ``fit``/``predict``."""
        if self._wrapped(model):
            return self.inputs.model_structure(values)
        return self.inputs.first_argument(values)

    def example_shape_text(self):
        return self.inputs.describe()

    # -- handing the spec to another process -------------------------------------------

    def to_payload(self):
        """Everything but the class, which another process imports from ``import_path``
        (:func:`spec_from_payload` rebuilds the spec there). Values are plain Python,
        but ``kwargs`` may hold functions: send the payload with pickle."""
        if self.import_path is None:
            raise ValueError(f"{self.label} has no import_path for another process to import it by")
        return {
            "import_path": self.import_path, "inputs": self.inputs.texts(),
            "call_kwargs": dict(self.call_kwargs), "kwargs": dict(self.kwargs),
            "traits": sorted(self.traits), "expected_failures": dict(self.expected_failures),
            "strict": self.strict, "reference": self.reference,
            "reference_kwargs": self.reference_kwargs, "weight_map": self.weight_map,
            "tier": self.tier, "timeout": self.timeout,
            "label": self.label, "kwargs_factory": self.kwargs_factory,
            "loss_outputs": self.loss_outputs, "unbatched_outputs": tuple(self.unbatched_outputs),
            "float32_outputs": tuple(self.float32_outputs or ()),
            "golden": None if self.golden is None else os.fspath(self.golden),
            "update_golden": self.update_golden,
        }

    # -- the reference -------------------------------------------------------------------

    def reference_entry(self):
        """The reference (:class:`conformance.reference_target.Reference`: a registry entry,
        a Layer class or a function), resolved once; None without one."""
        if self.reference is None:
            return None
        if getattr(self, "_reference", None) is None:
            from conformance import reference_target

            self._reference = reference_target.resolve(self.reference)
        return self._reference

    def new_reference(self):
        """The reference class built with ``reference_kwargs`` (or the target's kwargs)."""
        return self.reference_entry().new(self)

    def built_reference(self):
        return self.reference_entry().built(self)

    def _check_weight_map(self):
        """``weight_map`` given as JSON text becomes its dict; a ``module:function`` text is
        imported when first used. A ``ValueError`` if it is neither, or has no reference."""
        from conformance import reference_target

        if self.reference is None:
            raise ValueError("weight_map needs a reference")
        self.weight_map = reference_target.parse_weight_map(self.weight_map, import_function=False)


def _validated(option, value):
    """``value`` of the per-target ``option`` by the rule the command line and pyproject use
    (:mod:`conformance.options`); a ``ValueError`` saying why it is not valid."""
    from conformance.options import UsageError, validated

    try:
        return validated(option, value, f"CheckSpec {option}")
    except UsageError as exc:
        raise ValueError(str(exc)) from None


def _is_serialized(value):
    return isinstance(value, dict) and "class_name" in value and "config" in value


def _keras_object(config, where):
    """The Keras object ``config`` serializes, made anew (safe mode on). A config without
    ``"module"`` (Keras 2's form) is looked up among Keras's layers, initializers,
    regularizers and constraints."""
    try:
        return keras.saving.deserialize_keras_object(dict(config), safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - said as a usage error below
        failure = exc
    if "module" not in config:
        for module in ("keras.layers", "keras.initializers", "keras.regularizers",
                       "keras.constraints"):
            for attempt in (lambda: keras.saving.deserialize_keras_object(
                                {**config, "module": module}, safe_mode=True),
                            lambda: getattr(keras, module.split(".")[1]).deserialize(dict(config))):
                try:
                    made = attempt()
                except Exception:  # noqa: BLE001 - not of this kind
                    continue
                if not isinstance(made, (str, type)):
                    return made
    from conformance.errors import describe_error

    raise ValueError(f"{where}: cannot deserialize {config.get('class_name')!r} "
                     f"({describe_error(failure)})") from None


def _deserialized(value, where):
    """``value`` with every Keras serialized form in it (``{"class_name": ..., "config":
    ...}``) replaced by a new object."""
    if _is_serialized(value):
        return _keras_object(value, where)
    if isinstance(value, dict):
        return {key: _deserialized(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_deserialized(item, f"{where}[{i}]") for i, item in enumerate(value))
    if isinstance(value, (set, bytearray, np.ndarray)):
        return value.copy()  # each instance gets its own, so one that edits it in place harms no other
    return value


def _factory(factory):
    """The callable a ``kwargs_factory`` names (``pkg.module:function``, ``file.py:function``)."""
    if callable(factory):
        return factory
    if not isinstance(factory, str) or factory.count(":") != 1 or not all(factory.split(":")):
        raise ValueError(f"kwargs_factory must be 'package.module:function' or "
                         f"'path/to/file.py:function', got {factory!r}")
    import importlib

    from conformance.loading import _import_file

    where, name = factory.split(":")
    try:
        module = _import_file(where) if where.endswith(".py") else importlib.import_module(where)
        function = module
        for part in name.split("."):
            function = getattr(function, part)
    except Exception as exc:  # noqa: BLE001 - any import failure is a usage error
        raise ValueError(f"kwargs_factory {factory!r}: cannot import it "
                         f"({type(exc).__name__}: {exc})") from None
    if not callable(function):
        raise ValueError(f"kwargs_factory {factory!r} is not a function")
    return function


def spec_from_payload(payload):
    """The :class:`CheckSpec` :meth:`CheckSpec.to_payload` described, its class imported anew."""
    from conformance.loading import load_target

    fields = dict(payload)
    cls = load_target(fields["import_path"])
    return CheckSpec(cls=cls, **fields)


def spec_for_reference(name, **kwargs):
    """A :class:`CheckSpec` for a registered reference (its own class, kwargs and shapes)."""
    from conformance import references

    entry = references.get(name)
    merged = entry.kwargs(**kwargs)
    return CheckSpec(
        cls=entry.cls,
        kwargs=merged,
        input_shapes=entry.shapes(**merged),
        traits=getattr(entry, "checker_traits", frozenset()),
        reference=name,  # each reference is also checked against itself
        label=f"reference_models:{name}",
        import_path=f"{entry.cls.__module__}:{entry.cls.__qualname__}",
    )
