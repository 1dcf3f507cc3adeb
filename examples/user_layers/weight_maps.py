"""Weight maps (``--weight-map examples.user_layers.weight_maps:from_torch_linear``): a
function that takes the reference's weights ``{name: array}`` and returns the target's
(``{name: array}``, or a list in the order of the target's ``weights``)."""


def from_torch_linear(weights):
    """A Keras ``Dense`` (kernel ``(in, out)``) as a port that stores it PyTorch's way
    (``(out, in)``)."""
    return {"kernel": weights["kernel"].T, "bias": weights["bias"]}
