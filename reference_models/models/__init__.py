"""Reference models, one concept a module."""
