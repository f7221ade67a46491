"""The PromQL of the dashboards: metric names, the template variables' selectors, and the
expressions several panels share (an SLO gauge once per SLO, error ratio, p99, rate).

The service's own gauges name the model in their ``service`` label, so ``$model`` filters them
with ``service=~"$model"``. Each replica of slo-service exports the same SLO gauges:
``per_slo`` takes ``max by`` the SLO's labels so that replicas do not count twice.
"""

# Selectors of the template variables.
MODEL = 'model_name=~"$model"'
MODEL_VERSION = 'model_name=~"$model",model_version=~"$version"'
SERVICE = 'service=~"$model"'
ML_KINDS = "accuracy|drift|data_freshness|model_freshness"

PREDICTIONS = "ml_predictions_total"
LATENCY_BUCKETS = "ml_prediction_duration_seconds_bucket"
ACCURACY = "ml_model_accuracy"
IS_LATEST = "ml_model_is_latest"
DEPLOYED_AT = "ml_model_deployed_timestamp_seconds"
FEATURES_UPDATED_AT = "ml_feature_last_updated_timestamp_seconds"
PSI = "ml_feature_psi"

# The labels that name one SLO in the service's gauges.
SLO_LABELS = "service, slo, kind"


def per_slo(metric: str, extra: str = "", by: str = SLO_LABELS) -> str:
    """``metric`` of the SLOs of ``$model``, once per SLO whatever the replicas."""
    return f"max by ({by}) ({metric}{{{SERVICE}{extra}}})"


def rate(selector: str, window: str) -> str:
    """Predictions per second of the series that ``selector`` picks, over ``window``."""
    return f"rate({PREDICTIONS}{{{selector}}}[{window}])"


def error_ratio(by: str, window: str, func: str = "rate") -> str:
    """Errors over all predictions of each ``by`` group; 0 (not nothing) without any error."""
    errors = f'{func}({PREDICTIONS}{{{MODEL_VERSION},status="error"}}[{window}])'
    every = f"{func}({PREDICTIONS}{{{MODEL_VERSION}}}[{window}])"
    return f"(sum by ({by}) ({errors}) or sum by ({by}) ({every}) * 0)\n/\nsum by ({by}) ({every})"


def p99(by: str, window: str) -> str:
    """The 99th percentile of the prediction latency of each ``by`` group (``by`` has ``le``)."""
    buckets = f"rate({LATENCY_BUCKETS}{{{MODEL_VERSION}}}[{window}])"
    return f"histogram_quantile(0.99, sum by ({by}) ({buckets}))"
