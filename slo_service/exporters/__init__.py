"""What slo-service gives other tools: Prometheus metrics (and, later, rules and dashboards)."""
