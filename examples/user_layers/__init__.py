"""A small user package, as a team would write it: correct custom layers, and the course
notes' Lambda classifier as they wrote it. ``examples/pyproject.toml`` points the checker
at these and at a few layers from ``examples/broken_layers``."""
