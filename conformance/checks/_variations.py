"""Values away from a constructor argument's default, for the checks that vary arguments.

The rules (one value tried at a time, the next when the constructor refuses one):

* a bool is flipped;
* an int is doubled, else increased by one (0 becomes 1; a negative one, an axis, is
  decreased by one); a tuple or list of ints has each element changed alike;
* a finite float is halved (0.0 becomes 0.25, a valid rate);
* a string takes another choice of its ``typing.Literal`` annotation, else another value of
  the Keras choice group its name and default belong to (:data:`STRING_CHOICES`);
* anything else (None, functions, objects, dicts, other strings) is not varied, and says why.
"""

import inspect
import math
import typing

#: ``(a word the argument's name holds, choices)``: Keras's string choices, used when an
#: argument so named has one of them as its default ("linear" is a rope type as well as an
#: activation, so the name must say which). The first choice other than the default is the
#: varied value.
STRING_CHOICES = (
    ("activation", ("relu", "linear", "gelu", "tanh", "sigmoid", "softmax", "swish", "silu",
                    "elu", "selu", "softplus", "softsign", "exponential", "hard_sigmoid", "mish")),
    ("padding", ("same", "valid")),
    ("data_format", ("channels_first", "channels_last")),
    ("initializer", ("ones", "zeros", "glorot_uniform", "glorot_normal", "he_normal",
                     "he_uniform", "lecun_normal", "lecun_uniform", "random_normal",
                     "random_uniform", "truncated_normal", "orthogonal", "uniform", "normal")),
    ("interpolation", ("nearest", "bilinear", "bicubic")),
    ("merge_mode", ("sum", "concat", "mul", "ave")),
    ("dtype", ("int64", "int32")),
)


def _literal_choices(annotation):
    """The choices of a ``typing.Literal`` annotation (also inside ``Optional``), or ()."""
    if isinstance(annotation, str) or annotation is inspect.Parameter.empty:
        return ()
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Union:
        for member in typing.get_args(annotation):
            choices = _literal_choices(member)
            if choices:
                return choices
    return ()


def _other_ints(value):
    if value == 0:
        return [1]
    if value < 0:
        return [value - 1]
    return [value * 2, value + 1]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def varied_values(name, parameter):
    """``(values, reason)``: values to try instead of ``parameter``'s default, in order, or
    ``([], why it is not varied)``."""
    default = parameter.default
    if default is None:
        return [], "default None"
    choices = [c for c in _literal_choices(parameter.annotation) if c != default]
    if choices:
        return choices[:1], None
    if isinstance(default, bool):
        return [not default], None
    if _is_int(default):
        return _other_ints(default), None
    if isinstance(default, float):
        if not math.isfinite(default):
            return [], f"a non-finite float default ({default!r})"
        return [default * 0.5 if default else 0.25], None
    if isinstance(default, (tuple, list)) and default and all(_is_int(item) for item in default):
        candidates = zip(*(_other_ints(item) for item in default))
        return [type(default)(items) for items in candidates], None
    if isinstance(default, str):
        for word, group in STRING_CHOICES:
            if default in group and word in name:
                return [next(choice for choice in group if choice != default)], None
        return [], f"a string default ({default!r}) with no known alternative"
    return [], f"a {type(default).__name__} default"
