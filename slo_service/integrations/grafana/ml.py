"""The ML dashboard (``slo-service-ml``): model quality and the health of its inputs over 7
days, for the ML team.

Rows, top to bottom: the headline (lowest accuracy, highest drift, oldest features, latest
version serving, oldest model); accuracy and the ML SLOs' SLIs; drift by feature; feature
freshness; model age and versions; the ML SLOs' budgets and the traffic by version. Deploys
show as annotations.
"""

from slo_service.integrations.grafana.colours import (
    ACCURACY_STEPS,
    BUDGET,
    DRIFT,
    FEATURE_AGE,
    LATEST,
    MODEL_AGE,
    NEUTRAL,
    NONE_BAD,
    TRAFFIC,
)
from slo_service.integrations.grafana.layout import TAG, Row, dashboard, deploy_annotation
from slo_service.integrations.grafana.panels import (
    Json,
    bargauge,
    column,
    stat,
    table,
    target,
    timeseries,
)
from slo_service.integrations.grafana.promql import (
    ACCURACY,
    DEPLOYED_AT,
    FEATURES_UPDATED_AT,
    IS_LATEST,
    ML_KINDS,
    MODEL,
    MODEL_VERSION,
    PSI,
    per_slo,
    rate,
)

# The SLOs of the ML kinds, each model's accuracy, and the PSI of each feature.
_ML_SLOS = f',kind=~"{ML_KINDS}"'
# Accuracy may or may not carry the version: "$version|" also keeps series without it.
_ACCURACY_SERIES = f'{ACCURACY}{{{MODEL},model_version=~"$version|"}}'
_PSI_BY_FEATURE = f"max by (model_name, feature_name) ({PSI}{{{MODEL}}})"


def ml() -> Json:
    """Model quality and the health of its inputs, for the ML team."""
    return dashboard(
        uid=f"{TAG}-ml",
        title="slo-service: model quality",
        description="Accuracy, drift and the freshness of the features and models, for the "
        "ML team.",
        time_from="now-7d",
        refresh="5m",
        rows=[
            _headline(),
            _quality(),
            _drift(),
            _feature_freshness(),
            _model_freshness(),
            _budgets_and_traffic(),
        ],
        annotations=[deploy_annotation()],
    )


def _headline() -> Row:
    """The top row: the worst accuracy and drift, the oldest features and models."""
    return 5, (*_quality_cells(), *_freshness_cells())


def _quality_cells() -> tuple[tuple[int, Json], ...]:
    """The lowest accuracy, the highest drift and the number of features drifting."""
    return (
        (
            4,
            stat(
                "Lowest accuracy",
                "The lowest accuracy of the selected models and versions (red under 0.8, "
                "amber under 0.9: compare with each model's baseline).",
                f"min({_ACCURACY_SERIES})",
                unit="percentunit",
                steps=ACCURACY_STEPS,
            ),
        ),
        (
            4,
            stat(
                "Highest drift (PSI)",
                "The largest PSI among the features: under 0.1 stable, 0.1 to 0.2 moderate, "
                "over 0.2 significant.",
                f"max({PSI}{{{MODEL}}})",
                unit="none",
                steps=DRIFT,
            ),
        ),
        (
            4,
            stat(
                "Features drifting",
                "Features whose PSI is over 0.2.",
                f"count({_PSI_BY_FEATURE} > 0.2) or vector(0)",
                unit="none",
                steps=NONE_BAD,
            ),
        ),
    )


def _freshness_cells() -> tuple[tuple[int, Json], ...]:
    """The oldest features, whether the latest versions serve, and the oldest model."""
    latest = [{"options": {"0": {"text": "stale"}, "1": {"text": "latest"}}, "type": "value"}]
    return (
        (
            4,
            stat(
                "Oldest features",
                "Age of the least recently updated features (the data_freshness default "
                "allows 30 minutes).",
                f"time() - min({FEATURES_UPDATED_AT}{{{MODEL}}})",
                unit="s",
                steps=FEATURE_AGE,
            ),
        ),
        (
            4,
            stat(
                "Latest version serving",
                "Whether every selected model serves its latest version.",
                f"min({IS_LATEST}{{{MODEL}}})",
                unit="none",
                steps=LATEST,
                mappings=latest,
                graph=False,
            ),
        ),
        (
            4,
            stat(
                "Oldest deployed model",
                "Time since the least recently deployed model was deployed.",
                f"time() - min({DEPLOYED_AT}{{{MODEL}}})",
                unit="s",
                steps=MODEL_AGE,
            ),
        ),
    )


def _quality() -> Row:
    """Accuracy of each model, and the SLIs of the ML SLOs."""
    accuracy_history = timeseries(
        "Accuracy",
        "Accuracy of each model (and version, when the gauge has it).",
        [target(_ACCURACY_SERIES, "{{model_name}} {{model_version}}")],
        unit="percentunit",
        steps=ACCURACY_STEPS,
        high=1,
        show_thresholds="line+area",
    )
    slis = timeseries(
        "SLIs of the ML SLOs",
        f"SLI over each SLO's window, for the SLOs of kind {ML_KINDS.replace('|', ', ')}.",
        [target(per_slo("slo_sli", _ML_SLOS), "{{service}} / {{slo}}")],
        unit="percentunit",
        steps=NEUTRAL,
        high=1,
        show_thresholds="off",
    )
    return 8, ((12, accuracy_history), (12, slis))


def _drift() -> Row:
    """Drift of each feature over time, and the most drifted features now."""
    drift_history = timeseries(
        "Drift (PSI) by feature",
        "PSI of each feature against its reference: 0.1 moderate, 0.2 significant.",
        [target(_PSI_BY_FEATURE, "{{model_name}} / {{feature_name}}")],
        unit="none",
        steps=DRIFT,
        low=0,
        show_thresholds="line+area",
    )
    drift_now = bargauge(
        "Most drifted features now",
        "The 20 features with the highest PSI now.",
        f"topk(20, {_PSI_BY_FEATURE})",
        "{{model_name}} / {{feature_name}}",
        unit="none",
        steps=DRIFT,
        low=0,
        high=0.5,
    )
    return 8, ((12, drift_history), (12, drift_now))


def _feature_freshness() -> Row:
    """Age of each model's features over time, and every feature source by age now."""
    feature_age = f"time() - max by (model_name) ({FEATURES_UPDATED_AT}{{{MODEL}}})"
    feature_history = timeseries(
        "Feature freshness",
        "Age of each model's most recently updated features.",
        [target(feature_age, "{{model_name}}")],
        unit="s",
        steps=FEATURE_AGE,
        low=0,
        show_thresholds="line+area",
    )
    feature_table = table(
        "Feature sources by age",
        "Every series of the feature-update gauge, with its age now (oldest first).",
        [target(f"time() - {FEATURES_UPDATED_AT}{{{MODEL}}}", ref="A", instant=True, table=True)],
        unit="s",
        steps=FEATURE_AGE,
        rename={"model_name": "Model", "Value": "Age"},
        hide=["__name__", "instance", "job"],
        columns=[column("Age", "s", FEATURE_AGE)],
        sort_by="Age",
    )
    return 8, ((12, feature_history), (12, feature_table))


def _model_freshness() -> Row:
    """Time since each model's deploy, and whether it serves its latest version."""
    model_age = f"time() - max by (model_name) ({DEPLOYED_AT}{{{MODEL}}})"
    model_age_history = timeseries(
        "Model age",
        "Time since each model was last deployed.",
        [target(model_age, "{{model_name}}")],
        unit="s",
        steps=MODEL_AGE,
        low=0,
    )
    latest_history = timeseries(
        "Serving the latest version",
        "1 while the model serves its latest version, 0 while an older one serves.",
        [target(f"min by (model_name) ({IS_LATEST}{{{MODEL}}})", "{{model_name}}")],
        unit="none",
        steps=LATEST,
        low=0,
        high=1,
        stepped=True,
        show_thresholds="area",
    )
    return 8, ((12, model_age_history), (12, latest_history))


def _budgets_and_traffic() -> Row:
    """The ML SLOs' budget left, and the predictions per second of each version."""
    ml_budgets = bargauge(
        "Error budget left of the ML SLOs",
        "Fraction of the error budget left of the accuracy, drift and freshness SLOs.",
        f"clamp_min({per_slo('slo_error_budget_remaining', _ML_SLOS)}, 0)",
        "{{service}} / {{slo}}",
        unit="percentunit",
        steps=BUDGET,
        low=0,
        high=1,
    )
    versions = timeseries(
        "Traffic by version",
        "Predictions per second of each model version: rollouts and rollbacks.",
        [
            target(
                f"sum by (model_name, model_version) ({rate(MODEL_VERSION, '$__rate_interval')})",
                "{{model_name}} {{model_version}}",
            )
        ],
        unit="reqps",
        steps=TRAFFIC,
        low=0,
        show_thresholds="off",
    )
    return 8, ((12, ml_budgets), (12, versions))
