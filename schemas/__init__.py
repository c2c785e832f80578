"""Storage schema: controlled vocabulary, units, documents and record builders (depends on nothing of ours)."""
