"""serialization checks (being written)."""
