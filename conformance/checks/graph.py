"""graph checks (being written)."""
