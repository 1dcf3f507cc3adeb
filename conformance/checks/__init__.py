"""The contract checks, one module per family. Importing this package registers them all."""

from conformance.checks import (  # noqa: F401
    backends,
    construction,
    distribution,
    dtype,
    golden,
    gradients,
    graph,
    masking,
    model,
    modes,
    outputs,
    pipelines,
    quantization,
    reference,
    serialization,
    shapes,
)
