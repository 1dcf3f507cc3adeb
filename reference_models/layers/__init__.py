"""Reference custom layers, one concept a module."""
