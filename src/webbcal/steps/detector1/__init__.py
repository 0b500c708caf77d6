"""detector1 steps."""
