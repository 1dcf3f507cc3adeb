"""keras-conformance: contract checks for custom Keras layers and models.

``check_layer(cls, input_shapes, kwargs)`` runs the catalogue and returns a report;
``parametrize_with_checks(specs)`` turns it into pytest tests; ``all_checks()`` lists it.
Importing this package is cheap: TensorFlow loads on first use.
"""

__version__ = "0.1.0"

_LAZY = {
    "check_layer": "conformance.runner",
    "run_spec": "conformance.runner",
    "run_check": "conformance.runner",
    "CheckSpec": "conformance.spec",
    "spec_for_reference": "conformance.spec",
    "DECLARABLE_TRAITS": "conformance.spec",
    "all_checks": "conformance.catalogue",
    "get_check": "conformance.catalogue",
    "contract": "conformance.catalogue",
    "parametrize_with_checks": "conformance.pytest_integration",
    "Report": "conformance.report",
    "render": "conformance.formats",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'conformance' has no attribute {name!r}")
