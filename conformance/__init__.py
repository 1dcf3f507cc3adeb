"""keras-conformance: contract checks for custom Keras layers and models."""

__version__ = "0.1.0"
