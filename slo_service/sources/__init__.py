"""Where SLIs come from: Prometheus, the drift store, pushed events."""
