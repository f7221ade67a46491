"""Use cases. Services flush but never commit: the caller's unit of work does."""
