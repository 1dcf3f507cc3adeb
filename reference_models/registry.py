"""The catalogue of reference implementations and the record that describes each one."""

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

SUBCLASSED = "subclassed"
FUNCTIONAL = "functional"
SEQUENTIAL = "sequential"
API_STYLES = (SUBCLASSED, FUNCTIONAL, SEQUENTIAL)

#: Behaviour traits an entry may declare; the checker and the tests read them.
TRAITS = frozenset(
    {
        "stochastic_in_training",  # training-mode output is random (dropout)
        "non_trainable_state",  # has non-trainable variables updated in training (BN)
        "training_dependent",  # training and inference outputs differ
        "residual",  # output = F(x) + x
        "multi_input",
        "multi_output",
        "shared_layer",  # one layer instance applied more than once
        "weightless",  # has no weights at all
    }
)

_REGISTRY = {}


@dataclass(frozen=True)
class Reference:
    """One documented layer or model: where the notes describe it and how to build it.

    ``builders`` maps an API style to ``builder(input_shapes, **kwargs)``; the subclassed
    builder returns the reference class itself (a ``Layer`` or ``Model`` subclass), the
    functional and sequential ones a ``keras.Model`` computing the same function.
    ``input_shapes`` holds one shape per model input, batch dimension first; it may be a
    callable of the constructor kwargs when the valid input depends on them.
    """

    name: str
    kind: str
    cls: type
    description: str
    seed: str
    section: str
    default_kwargs: Mapping
    input_shapes: object
    builders: Mapping[str, Callable]
    traits: frozenset = frozenset()
    notes_departures: tuple = ()
    #: Declarable traits (conformance/traits.py) its checks are told, for what they cannot
    #: detect (an image classifier's rows are no variable length: fixed_length).
    checker_traits: frozenset = frozenset()
    compile_kwargs: Mapping = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in ("layer", "model"):
            raise ValueError(f"{self.name}: kind must be 'layer' or 'model'")
        if SUBCLASSED not in self.builders:
            raise ValueError(f"{self.name}: every reference has a subclassed form")
        unknown = set(self.builders) - set(API_STYLES)
        if unknown:
            raise ValueError(f"{self.name}: unknown API styles {sorted(unknown)}")
        bad_traits = set(self.traits) - TRAITS
        if bad_traits:
            raise ValueError(f"{self.name}: unknown traits {sorted(bad_traits)}")

    @property
    def styles(self):
        return tuple(style for style in API_STYLES if style in self.builders)

    def kwargs(self, **overrides):
        merged = dict(self.default_kwargs)
        merged.update(overrides)
        return merged

    def shapes(self, **kwargs):
        """Example input shapes (batch first) for the given constructor kwargs."""
        shapes = self.input_shapes
        if callable(shapes):
            shapes = shapes(**self.kwargs(**kwargs))
        return [tuple(shape) for shape in shapes]

    def build(self, style=SUBCLASSED, build=True, **kwargs):
        """A new instance in ``style``; with ``build`` its weights exist already."""
        if style not in self.builders:
            raise ValueError(
                f"{self.name} cannot be expressed in the {style} API; it supports {self.styles}"
            )
        kwargs = self.kwargs(**kwargs)
        shapes = self.shapes(**kwargs)
        obj = self.builders[style](shapes, **kwargs)
        if build and not obj.built:
            obj(self.example_inputs(kwargs=kwargs, values="zeros"))
        return obj

    def example_inputs(self, kwargs=None, batch_size=None, seed=0, values="normal"):
        """Inputs for one forward pass: an array, or a list of arrays for several inputs."""
        rng = np.random.default_rng(seed)
        arrays = []
        for shape in self.shapes(**(kwargs or {})):
            shape = (batch_size or shape[0],) + tuple(shape[1:])
            if values == "zeros":
                arrays.append(np.zeros(shape, dtype="float32"))
            else:
                arrays.append(rng.standard_normal(shape).astype("float32"))
        return arrays[0] if len(arrays) == 1 else arrays

    def summary_line(self):
        return f"{self.name:<28} {self.kind:<6} {','.join(self.styles):<34} {self.description}"


def register(reference):
    if reference.name in _REGISTRY:
        raise ValueError(f"reference {reference.name!r} is registered twice")
    _REGISTRY[reference.name] = reference
    return reference


def get(name):
    """The reference called ``name``; ``KeyError`` naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown reference {name!r}; known: {', '.join(names())}") from None


def names(kind=None):
    return sorted(n for n, ref in _REGISTRY.items() if kind is None or ref.kind == kind)


def all_references(kind=None):
    return [_REGISTRY[n] for n in names(kind)]
