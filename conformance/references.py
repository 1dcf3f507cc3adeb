"""The checker's one door to ``reference_models``.

The references sit beside the checker, not under it: both build on ``keras_compat``, and
every part of ``conformance`` that needs a reference goes through this module. Importing
it imports TensorFlow, so callers import it when a reference is first needed.
"""

import reference_models
from reference_models.layers.lambda_layers import absolute as lambda_example_function
from reference_models.transfer import randomize_weights

#: The class a fresh process imports to load a ``Lambda`` wrapping ``lambda_example_function``.
LAMBDA_IMPORT_PATH = "reference_models.layers.lambda_layers:RegisteredLambda"


def get(name):
    """The registered reference ``name``; ``KeyError`` with the known names otherwise."""
    return reference_models.get(name)


def names():
    return reference_models.names()


def all_references():
    return reference_models.all_references()


__all__ = ["get", "names", "all_references", "randomize_weights", "lambda_example_function",
           "LAMBDA_IMPORT_PATH"]
