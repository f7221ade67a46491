"""slo-service: SLOs and error budgets for ML models in production."""

__version__ = "0.1.0"
