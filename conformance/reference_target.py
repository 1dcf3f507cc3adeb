"""What a reference is, and what the reference checks ask of it.

A reference (``--reference``) is one of three things:

- a name of the ``reference_models`` registry (``simple_dense``): its class, its declared traits;
- an importable Layer class (``keras.layers:LayerNormalization``, ``pkg.module:Class``,
  ``path/file.py:Class``), built with ``reference_kwargs`` (default: the target's kwargs);
  whether it is random in training is measured (seeded training calls on the same inputs that differ);
- a function (``pkg.formulas:layer_norm``), called like the target's ``call`` with the inputs
  as NumPy arrays, plus ``weights=`` (the target's weights by name, NumPy arrays) and
  ``training=`` when its signature takes them; it returns the expected outputs.

The imported object tells a class from a function: a ``keras.layers.Layer`` subclass is a
layer reference, any other callable that is not a class is a function reference.

Weights go from a layer reference to the target in the order of ``weights``, matched by shape,
unless the spec gives a ``weight_map``: ``{"target weight": "reference weight"}`` (a name
ending in ``.T`` is transposed; a target weight the map leaves out takes the reference's
weight of the same name), or ``module:function`` taking the reference's weights ``{name:
array}`` and returning the target's (``{name: array}``, or a list in the target's order).
A weight's name is its path below the layer (``gamma``, ``dense/kernel``); its last part
(``kernel``) also names it when no other weight ends so.
"""

import contextlib
import importlib
import inspect
import json
import os
from dataclasses import dataclass, field

import numpy as np

import keras_compat as compat
from conformance.outcomes import (RunInterrupted, UnusableSetup, describe_escape,
                                  describe_exception, is_escape)
from keras_compat import keras

REGISTRY, LAYER, FUNCTION = "registry", "layer", "function"
#: Training calls on the same inputs that tell a random reference: one that keeps each unit
#: with a probability close to 1 may give the same outputs twice on a small input.
_MEASURING_CALLS = 3

#: How the messages say what a ``weight_map`` is.
WEIGHT_MAP_HELP = ("give weight_map (--weight-map '{\"target weight\": \"reference weight\"}', "
                   "a name ending in .T is transposed; or --weight-map module:function returning "
                   "the target's weights from the reference's)")


class ReferenceUsageError(ValueError, UnusableSetup):
    """A ``reference`` or ``weight_map`` that names nothing usable (a usage error; met
    during a check, that check's error)."""


def is_import_path(text):
    """Whether ``text`` names an importable object (``where:name``) rather than a registry entry."""
    return isinstance(text, str) and ":" in text


def malformed(text):
    """What is wrong with ``text`` as a reference, told without importing anything but the
    registry; None when nothing is."""
    if not isinstance(text, str) or not text:
        return f"reference must be a registry name or 'module:Name', got {text!r}"
    if is_import_path(text):
        if text.count(":") != 1 or not all(text.split(":")):
            return (f"reference must be a reference_models name, 'package.module:Name' or "
                    f"'path/to/file.py:Name', got {text!r}")
        where = text.split(":")[0]
        if where.endswith(".py") and not os.path.isfile(where):
            return f"reference {text!r}: no such file: {os.path.abspath(where)}"
        return None
    from conformance import references

    try:
        references.get(text)
    except KeyError as exc:
        return exc.args[0]
    return None


def registry_entry(text):
    """The ``reference_models`` entry ``text`` names, or None for an import path."""
    if is_import_path(text):
        return None
    from conformance import references

    return references.get(text)


def import_object(text, what="reference"):
    """The object ``where:name`` names (a module path or a ``.py`` file, then attributes)."""
    from conformance.loading import _import_file

    where, name = text.split(":")
    try:
        module = _import_file(where) if where.endswith(".py") \
            else importlib.import_module(compat.target_module(where))
        obj = module
        for part in name.split("."):
            obj = getattr(obj, part)
    except RunInterrupted:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is a usage error
        raise ReferenceUsageError(f"{what} {text!r}: cannot import it ({describe_exception(exc)})") from None
    except BaseException as exc:  # noqa: BLE001 - its code exited: that is not the checker's end
        if not is_escape(exc):
            raise
        raise ReferenceUsageError(f"{what} {text!r}: cannot import it (its code "
                                  f"{describe_escape(exc)} while it was imported)") from None
    return obj


def resolve(text):
    """The :class:`Reference` ``text`` names; :class:`ReferenceUsageError` (or ``KeyError``
    for an unknown registry name) otherwise."""
    entry = registry_entry(text)
    if entry is not None:
        return Reference(text, REGISTRY, entry.cls, frozenset(entry.traits))
    problem = malformed(text)
    if problem:
        raise ReferenceUsageError(problem)
    obj = import_object(text)
    if isinstance(obj, type):
        if not issubclass(obj, keras.layers.Layer):
            raise ReferenceUsageError(f"reference {text!r} is a class but not a keras.layers.Layer")
        return Reference(text, LAYER, obj)
    if callable(obj):
        return Reference(text, FUNCTION, obj)
    raise ReferenceUsageError(f"reference {text!r} is neither a Layer class nor a function")


@dataclass
class Reference:
    """A resolved reference: ``kind`` is :data:`REGISTRY`, :data:`LAYER` or :data:`FUNCTION`,
    ``obj`` the class or the function, ``traits`` what a registry entry declares."""

    text: str
    kind: str
    obj: object
    traits: frozenset = frozenset()
    _stochastic: object = field(default=None, repr=False)

    @property
    def cls(self):
        return None if self.kind == FUNCTION else self.obj

    @property
    def has_weights(self):
        """Whether it is a layer (weights to give the target, gradients, an initialisation)."""
        return self.kind != FUNCTION

    def not_a_layer_reason(self, what):
        """The skip reason of a check about ``what`` that a function reference cannot answer."""
        return (f"reference {self.text!r} is a function: it has no {what} to compare with "
                f"(a Layer class reference has)")

    # -- instances ---------------------------------------------------------------------------

    def new(self, spec):
        """A new, unbuilt instance, made with ``reference_kwargs`` (or the target's kwargs)."""
        if not self.has_weights:
            raise TypeError(f"reference {self.text!r} is a function, not a layer")
        given = spec.reference_kwargs is not None
        kwargs = spec.reference_kwargs if given else spec.kwargs
        with self._its_own_errors("cannot be made with " + (
                "reference_kwargs" if given else "the target's kwargs (give reference_kwargs)")):
            if self.kind == LAYER:
                from conformance.spec import _deserialized

                kwargs = _deserialized(dict(kwargs), "reference_kwargs")
            return self.obj(**dict(kwargs))

    def built(self, spec):
        instance = self.new(spec)
        with self._its_own_errors("cannot be called on the target's inputs"):
            spec.call(instance, spec.draw(seed=0), training=False)
        return instance

    @contextlib.contextmanager
    def _its_own_errors(self, what):
        """An exception raised by the reference's code is the reference's error (the check's
        error), never a failure of the target."""
        try:
            yield
        except ReferenceUsageError:
            raise
        except Exception as exc:  # noqa: BLE001 - said as the reference's error
            raise ReferenceUsageError(f"reference {self.text!r} {what}: {type(exc).__name__}: "
                                      f"{exc}") from None

    # -- outputs -----------------------------------------------------------------------------

    def function_outputs(self, spec, values, training, weights):
        """What a function reference returns for ``values`` (``{key: array}``) with the
        target's ``weights`` (``{name: array}``), as NumPy arrays."""
        args, kwargs = spec.inputs.arguments({key: np.asarray(v) for key, v in values.items()})
        accepted = _accepted_keywords(self.obj)
        for name, value in (("weights", weights), ("training", training)):
            if accepted is None or name in accepted:
                kwargs[name] = value
        with self._its_own_errors("raised"):
            return self.obj(*args, **kwargs)

    def outputs(self, spec, values, training, instance=None, weights=None):
        """The reference's outputs as NumPy arrays: ``instance``'s (a layer reference) or the
        function's (given the target's ``weights``)."""
        from conformance.tensors import as_arrays, undefined_outputs

        if self.kind == FUNCTION:
            returned = self.function_outputs(spec, values, training, weights)
            problem = undefined_outputs(returned)
            if problem:
                raise ReferenceUsageError(f"reference function {self.text!r} returned {problem}; it "
                                          "must return the expected outputs (an array or a "
                                          "structure of arrays)")
            return as_arrays(returned)
        with self._its_own_errors("raised"):
            return as_arrays(spec.call(instance, values, training=training))

    def stochastic_in_training(self, spec):
        """Whether its training outputs are random: declared by a registry entry, measured
        otherwise (two training calls on the same inputs, seeded, that differ)."""
        if self.kind == REGISTRY:
            return "stochastic_in_training" in self.traits
        if self._stochastic is None:  # a Reference belongs to one spec (CheckSpec.reference_entry)
            self._stochastic = self._measure_stochastic(spec)
        return self._stochastic

    def _measure_stochastic(self, spec):
        keras.utils.set_random_seed(0)
        values = spec.draw(seed=1)
        if self.kind == FUNCTION:
            weights = named_values(spec.built())
            calls = [self.outputs(spec, values, True, weights=weights) for _ in range(_MEASURING_CALLS)]
        else:
            instance = self.built(spec)
            calls = [self.outputs(spec, values, True, instance) for _ in range(_MEASURING_CALLS)]
        return any(not np.array_equal(a, b) for later in calls[1:] for a, b in zip(calls[0], later))


def _accepted_keywords(function):
    """The keyword names ``function`` takes; None when it takes any (``**kwargs``) or its
    signature cannot be read."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


# -- weights by name -----------------------------------------------------------------------

def weight_names(layer):
    """The names of ``layer.weights``, in order: each one's path below ``layer``."""
    names = []
    for variable in layer.weights:
        path = compat.variable_path(variable)
        path = path[:-2] if path.endswith(":0") else path
        prefix = layer.name + "/"
        names.append(path[len(prefix):] if path.startswith(prefix) else path)
    return names


def named_values(layer):
    """``{name: array}`` of ``layer``'s weights (see :func:`weight_names`)."""
    return dict(zip(weight_names(layer), (np.array(v) for v in layer.get_weights())))


def listing(names, shapes):
    return ", ".join(f"{n}{tuple(s)}" for n, s in zip(names, shapes)) or "no weights"


def _lookup(names, wanted):
    """The index in ``names`` of the weight ``wanted`` names (its full name, else a last part
    that no other weight shares), or None."""
    if wanted in names:
        return names.index(wanted)
    ends = [i for i, name in enumerate(names) if name.split("/")[-1] == wanted]
    return ends[0] if len(ends) == 1 else None


def parse_weight_map(value, import_function=True):
    """``value`` as a weight map: None, a dict ``{target: reference}``, or a callable (a
    ``module:function`` text is imported, or with ``import_function`` false kept as text);
    :class:`ReferenceUsageError` if it is none of these."""
    if value is None or callable(value):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ReferenceUsageError(f"weight_map is not valid JSON: {exc}") from None
        elif text.count(":") == 1 and all(text.split(":")):
            if not import_function:
                return text
            function = import_object(text, "weight_map")
            if not callable(function):
                raise ReferenceUsageError(f"weight_map {text!r} is not a function")
            return function
        else:
            raise ReferenceUsageError("weight_map must be a JSON object "
                                      "('{\"target weight\": \"reference weight\"}') or "
                                      f"'module:function', got {value!r}")
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
        raise ReferenceUsageError(f"weight_map must map target weight names to reference "
                                  f"weight names (strings), got {value!r}")
    return dict(value)


def map_weights(ref_names, ref_arrays, target, weight_map):
    """The values for ``target.weights``, in order, from the reference's weights (names and
    arrays, in the reference's order) through ``weight_map`` (a dict or a callable; None: the
    reference's order). Returns ``(arrays, problem)``: ``problem`` says why they do not fit
    (arrays is then None); a map naming weights that do not exist is a usage error."""
    names = weight_names(target)
    shapes = [tuple(int(d) for d in w.shape) for w in target.weights]
    ref_arrays = [np.asarray(a) for a in ref_arrays]
    if weight_map is None:
        if [a.shape for a in ref_arrays] != shapes:
            return None, listing(names, shapes)
        return ref_arrays, None
    if callable(weight_map):
        made = weight_map({n: a.copy() for n, a in zip(ref_names, ref_arrays)})
        if isinstance(made, dict):
            unknown = [key for key in made if _lookup(names, key) is None]
            if unknown:
                raise ReferenceUsageError(f"weight_map function returned {unknown}, which name "
                                          f"no weight of the target ({', '.join(names)})")
            by_index = {_lookup(names, key): np.asarray(a) for key, a in made.items()}
            missing = [names[i] for i in range(len(names)) if i not in by_index]
            if missing:
                return None, f"no value for the target's weights {missing} from the weight_map function"
            arrays = [by_index[i] for i in range(len(names))]
        else:
            arrays = [np.asarray(a) for a in made]
            if len(arrays) != len(names):
                return None, (f"{len(arrays)} arrays from the weight_map function for the "
                              f"target's {len(names)} weights")
    else:
        unknown = [key for key in weight_map if _lookup(names, key) is None]
        if unknown:
            raise ReferenceUsageError(f"weight_map names {unknown}, which are not weights of the "
                                      f"target ({', '.join(names) or 'none'})")
        sources = {_lookup(names, key): value for key, value in weight_map.items()}
        arrays = []
        for index, name in enumerate(names):
            source = sources.get(index, name)
            transpose = source.endswith(".T")
            found = _lookup(ref_names, source[:-2] if transpose else source)
            if found is None:
                return None, (f"the target's weight {name!r} taken from {source!r}, which the "
                              f"reference does not have")
            array = ref_arrays[found]
            arrays.append(array.T if transpose else array)
    for name, shape, array in zip(names, shapes, arrays):
        if tuple(array.shape) != shape:
            return None, (f"the target's weight {name!r} is {shape}, the value mapped to it "
                          f"{tuple(array.shape)}")
    return arrays, None
