"""gradients checks (being written)."""
