"""Small helpers that turn a description of an architecture into each API style."""

from keras_compat import keras


def keras_inputs(shapes, names=None):
    """One symbolic ``keras.Input`` per example shape (the batch dimension is dropped)."""
    names = names or [None] * len(shapes)
    return [keras.Input(shape=tuple(shape[1:]), name=name) for shape, name in zip(shapes, names)]


def functional(shapes, graph, name=None, input_names=None):
    """A Functional model: ``graph(*inputs)`` returns the output tensor(s)."""
    inputs = keras_inputs(shapes, input_names)
    outputs = graph(*inputs)
    return keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs, name=name)


def sequential(shapes, layers, name=None):
    """A Sequential model with a declared input, so it is built at once."""
    return keras.Sequential([keras.Input(shape=tuple(shapes[0][1:]))] + list(layers), name=name)


def subclassed(cls):
    """The builder for the reference class itself: input shapes are not needed."""

    def build(shapes, **kwargs):
        return cls(**kwargs)

    build.__name__ = f"build_{cls.__name__}"
    return build


def chain(x, layers):
    """Apply ``layers`` one after another (a straight stack as Functional-API calls)."""
    for layer in layers:
        x = layer(x)
    return x


def stack_builders(make_layers):
    """Functional and Sequential builders for a straight stack; ``make_layers(**kwargs)``
    returns a fresh list of layers each time it is called."""
    from reference_models.registry import FUNCTIONAL, SEQUENTIAL

    return {
        FUNCTIONAL: lambda shapes, **kwargs: functional(
            shapes, lambda x: chain(x, make_layers(**kwargs))
        ),
        SEQUENTIAL: lambda shapes, **kwargs: sequential(shapes, make_layers(**kwargs)),
    }
