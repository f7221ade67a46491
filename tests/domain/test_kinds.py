from typing import Any

import pytest

from slo_service.domain.kinds import Budgeting, Kind, budgeting_of, build_sli
from slo_service.errors import InvalidInput

SVC = "churn-model"


@pytest.mark.parametrize(
    ("kind", "params", "expected", "budgeting"),
    [
        (
            Kind.AVAILABILITY,
            {},
            {
                "source": "prometheus",
                "type": "ratio",
                "good": 'ml_predictions_total{model_name="churn-model",status!~"error"}',
                "total": 'ml_predictions_total{model_name="churn-model"}',
            },
            Budgeting.OCCURRENCES,
        ),
        (
            Kind.AVAILABILITY,
            {"model_name": "churn_v2", "error_statuses": ["error", "timeout"]},
            {
                "source": "prometheus",
                "type": "ratio",
                "good": 'ml_predictions_total{model_name="churn_v2",status!~"error|timeout"}',
                "total": 'ml_predictions_total{model_name="churn_v2"}',
            },
            Budgeting.OCCURRENCES,
        ),
        (
            Kind.LATENCY,
            {"threshold_ms": 500},
            {
                "source": "prometheus",
                "type": "latency",
                "histogram": 'ml_prediction_duration_seconds{model_name="churn-model"}',
                "threshold_seconds": 0.5,
            },
            Budgeting.OCCURRENCES,
        ),
        (
            Kind.MODEL_FRESHNESS,
            {},
            {
                "source": "prometheus",
                "type": "threshold",
                "query": 'max(ml_model_is_latest{model_name="churn-model"})',
                "op": ">=",
                "threshold": 1,
            },
            Budgeting.TIMESLICES,
        ),
        (
            Kind.MODEL_FRESHNESS,
            {"max_age_hours": 24},
            {
                "source": "prometheus",
                "type": "threshold",
                "query": "time() - max(ml_model_deployed_timestamp_seconds"
                '{model_name="churn-model"})',
                "op": "<=",
                "threshold": 86400,
            },
            Budgeting.TIMESLICES,
        ),
        (
            Kind.ACCURACY,
            {"baseline": 0.9, "tolerance": 0.05},
            {
                "source": "prometheus",
                "type": "threshold",
                "query": 'min(ml_model_accuracy{model_name="churn-model"})',
                "op": ">=",
                "threshold": pytest.approx(0.855),
            },
            Budgeting.TIMESLICES,
        ),
        (
            Kind.DATA_FRESHNESS,
            {},
            {
                "source": "prometheus",
                "type": "threshold",
                "query": "time() - max(ml_feature_last_updated_timestamp_seconds"
                '{model_name="churn-model"})',
                "op": "<",
                "threshold": 1800,
            },
            Budgeting.TIMESLICES,
        ),
        (
            Kind.DRIFT,
            {"thresholds": {"age": 0.1}},
            {
                "source": "drift_store",
                "service": "churn-model",
                "statistic": "psi",
                "thresholds": {"age": 0.1},
                "default_threshold": 0.2,
            },
            Budgeting.TIMESLICES,
        ),
    ],
    ids=[
        "availability",
        "availability-params",
        "latency",
        "freshness-latest",
        "freshness-age",
        "accuracy",
        "data-freshness",
        "drift",
    ],
)
def test_templates_expand(
    kind: Kind, params: dict[str, Any], expected: dict[str, Any], budgeting: Budgeting
) -> None:
    _, sli = build_sli(kind, params, None, service=SVC)
    assert sli.model_dump(exclude_none=True) == expected
    assert budgeting_of(kind, sli) is budgeting


def test_defaults_are_filled_in() -> None:
    params, _ = build_sli(Kind.ACCURACY, {"baseline": 0.9}, None, service=SVC)
    assert params == {"baseline": 0.9, "tolerance": 0.05}


@pytest.mark.parametrize(
    ("kind", "params", "overrides", "expected"),
    [
        (
            Kind.AVAILABILITY,
            {},
            {"total": 'ml_predictions_total{model_name="churn-model",env="prod"}'},
            {
                "good": 'ml_predictions_total{model_name="churn-model",status!~"error"}',
                "total": 'ml_predictions_total{model_name="churn-model",env="prod"}',
            },
        ),
        (
            Kind.AVAILABILITY,
            {},
            {"bad": 'ml_predictions_total{status="error"}'},
            {
                "bad": 'ml_predictions_total{status="error"}',
                "total": 'ml_predictions_total{model_name="churn-model"}',
            },
        ),
        (Kind.ACCURACY, {"baseline": 0.9}, {"source": "push"}, {"source": "push"}),
        (
            Kind.LATENCY,
            {"threshold_ms": 250},
            {"histogram": 'http_duration_seconds{job="api"}'},
            {"histogram": 'http_duration_seconds{job="api"}', "threshold_seconds": 0.25},
        ),
    ],
    ids=["one-field", "bad-replaces-good", "other-source", "histogram"],
)
def test_overrides(
    kind: Kind, params: dict[str, Any], overrides: dict[str, Any], expected: dict[str, Any]
) -> None:
    _, sli = build_sli(kind, params, overrides, service=SVC)
    dumped = sli.model_dump(exclude_none=True)
    assert {key: dumped.get(key) for key in expected} == expected
    if "bad" in expected:
        assert "good" not in dumped


@pytest.mark.parametrize(
    ("kind", "params", "overrides", "loc", "reason"),
    [
        (Kind.LATENCY, {}, None, ("params", "threshold_ms"), "Field required"),
        (Kind.LATENCY, {"threshold_ms": -5}, None, ("params", "threshold_ms"), "greater than 0"),
        (
            Kind.ACCURACY,
            {"baseline": 0.9, "tolerence": 0.1},
            None,
            ("params", "tolerence"),
            "params.tolerence: unknown field 'tolerence' (did you mean 'tolerance'?)",
        ),
        (Kind.CUSTOM, {}, None, ("sli",), "needs an 'sli'"),
        (Kind.CUSTOM, {"x": 1}, {"source": "push"}, ("params",), "takes no params"),
        (Kind.CUSTOM, {}, {"source": "graphite"}, ("sli",), "'source' must be prometheus"),
        (
            Kind.CUSTOM,
            {},
            {"type": "threshold", "query": "sum(x", "op": ">", "threshold": 1},
            ("sli", "query"),
            "never closed",
        ),
        (Kind.CUSTOM, {}, {"type": "ratio", "total": "x"}, ("sli",), "exactly one of 'good'"),
        (
            Kind.CUSTOM,
            {},
            {"type": "latency", "histogram": "h_bucket", "threshold_seconds": 1},
            ("sli", "histogram"),
            "without its _bucket suffix",
        ),
        (
            Kind.CUSTOM,
            {},
            {"type": "threshold", "query": "x", "op": "=>", "threshold": 1},
            ("sli", "op"),
            "Input should be",
        ),
        (Kind.AVAILABILITY, {}, {"good": "rate(x[5m])"}, ("sli", "good"), "not a series selector"),
        (Kind.AVAILABILITY, {"model_name": 'a"b'}, None, ("params", "model_name"), "quotes"),
    ],
    ids=[
        "latency-no-threshold",
        "negative-threshold",
        "typo",
        "custom-without-sli",
        "custom-with-params",
        "unknown-source",
        "unbalanced",
        "ratio-without-good",
        "bucket-suffix",
        "bad-op",
        "function-as-selector",
        "quote-in-model",
    ],
)
def test_bad_input_names_the_field(
    kind: Kind,
    params: dict[str, Any],
    overrides: dict[str, Any] | None,
    loc: tuple[str, ...],
    reason: str,
) -> None:
    with pytest.raises(InvalidInput) as info:
        build_sli(kind, params, overrides, service=SVC)
    locs = [problem_loc for problem_loc, _ in info.value.problems]
    assert loc in locs
    assert reason in info.value.detail


def test_pushed_slis_budget_by_kind() -> None:
    _, sli = build_sli(Kind.CUSTOM, {}, {"source": "push"}, service=SVC)
    assert budgeting_of(Kind.CUSTOM, sli) is Budgeting.OCCURRENCES
    assert budgeting_of(Kind.DATA_FRESHNESS, sli) is Budgeting.TIMESLICES
