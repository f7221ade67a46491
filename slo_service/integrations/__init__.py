"""What slo-service gives other tools and reads from them: OpenSLO documents, Prometheus
rules, Grafana dashboards."""
