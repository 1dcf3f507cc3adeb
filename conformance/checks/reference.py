"""reference checks (being written)."""
