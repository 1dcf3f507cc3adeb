"""model checks (being written)."""
