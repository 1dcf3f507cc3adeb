"""dtype checks (being written)."""
