"""Reference implementations of the layers and models documented in the course notes.

``get(name)`` returns a :class:`~reference_models.registry.Reference`; ``names()`` lists
them. Importing this package registers every reference class with Keras serialization,
so saved models reload in safe mode in any process that imports it.
"""

from reference_models.registry import (  # noqa: F401
    API_STYLES,
    FUNCTIONAL,
    SEQUENTIAL,
    SUBCLASSED,
    TRAITS,
    Reference,
    all_references,
    get,
    names,
)

# Importing a module registers its references.
from reference_models.layers import (  # noqa: F401,E402
    batch_norm_dropout,
    custom_dense,
    dropout,
    identity_block,
    lambda_layers,
    my_custom_layer,
    residual,
    simple_dense,
)
from reference_models.models import (  # noqa: F401,E402
    custom_layer_stacks,
    flatten_classifiers,
    linear_regression,
    multi_input,
    my_model_variants,
    my_residual,
    resnet,
    shared_dense,
    wide_and_deep,
)

__all__ = [
    "API_STYLES",
    "FUNCTIONAL",
    "SEQUENTIAL",
    "SUBCLASSED",
    "TRAITS",
    "Reference",
    "all_references",
    "get",
    "names",
]
