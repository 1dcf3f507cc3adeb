"""shapes checks (being written)."""
