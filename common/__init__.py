"""Small helpers shared by every stage (atomic file writes, one-line user errors)."""
