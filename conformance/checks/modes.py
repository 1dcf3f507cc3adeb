"""modes checks (being written)."""
