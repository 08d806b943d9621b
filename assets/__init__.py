"""Data files the tool reads: the MA-52 label set, the 44-joint layout, the result schema."""
