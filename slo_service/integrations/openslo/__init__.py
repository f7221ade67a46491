"""openslo."""
