"""OpenSLO v1 in and out: each mapping, each refusal naming its field, and the round trips."""

import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from slo_service.app import create_app
from slo_service.cli import app
from slo_service.cli.export import export
from slo_service.config import Settings
from slo_service.domain import alert_settings
from slo_service.domain.burn import factor_of_share, nominal_length
from slo_service.domain.windows import parse_duration, parse_window
from slo_service.errors import InvalidInput, format_loc
from slo_service.integrations.openslo.read import from_openslo
from slo_service.integrations.openslo.write import dump, to_openslo
from slo_service.schemas.slo import SLOCreate
from slo_service.services import apply as apply_service
from slo_service.services import slos
from slo_service.sources.base import NoQueryChecker
from tests.support.servers import serve_in_thread
from tests.test_cli import slo_names

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "openslo" / "churn-model.yaml"
GOOD = 'ml_predictions_total{model_name="churn-model",status!~"error"}'
TOTAL = 'ml_predictions_total{model_name="churn-model"}'
AGE = 'time() - max(ml_model_deployed_timestamp_seconds{model_name="churn-model"})'
Doc = dict[str, Any]
Headers = dict[str, str]
runner = CliRunner()


def source(query: str, kind: str = "Prometheus") -> Doc:
    return {"metricSource": {"type": kind, "spec": {"query": query}}}


def slo_doc(**spec: Any) -> Doc:
    """An OpenSLO SLO: good over total predictions, 99.9% over 28 days."""
    ratio = {"counter": True, "good": source(GOOD), "total": source(TOTAL)}
    return {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {"name": "availability"},
        "spec": {
            "service": "churn-model",
            "indicator": {"metadata": {"name": "good-ratio"}, "spec": {"ratioMetric": ratio}},
            "timeWindow": [{"duration": "28d", "isRolling": True}],
            "budgetingMethod": "Occurrences",
            "objectives": [{"target": 0.999}],
            **spec,
        },
    }


def threshold_doc(**objective: Any) -> Doc:
    doc = slo_doc(budgetingMethod="Timeslices")
    doc["metadata"]["name"] = "freshness"
    doc["spec"]["indicator"]["spec"] = {"thresholdMetric": source(AGE)}
    doc["spec"]["objectives"] = [{"op": "lte", "value": 86400, "target": 0.99, **objective}]
    return doc


def edit(doc: Doc, path: str, value: Any) -> Doc:
    """``doc`` with the value at a dotted path (list indexes as numbers) set, or removed
    when ``value`` is ``...``."""
    doc = copy.deepcopy(doc)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = doc
    for part in parents:
        node = node[part]
    if value is ...:
        del node[last]
    elif isinstance(node, list) and last == len(node):
        node.append(value)
    else:
        node[last] = value
    return doc


def problems(documents: list[Any]) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        from_openslo(documents)
    return [f"{format_loc(loc)}: {reason}" for loc, reason in caught.value.problems]


def columns(body: dict[str, Any]) -> slos.Columns:
    return slos.prepare(SLOCreate.model_validate(body), NoQueryChecker())


def meaning(values: slos.Columns) -> dict[str, Any]:
    """What a round trip must keep: every field a client writes, and the effective SLI."""
    return {**slos.spec_of(values), "effective_sli": values["sli"]}


def effective(values: slos.Columns) -> alert_settings.AlertSettings:
    """The alerting an SLO's columns give, with no service policy."""
    return alert_settings.effective(
        values["alerting"], None, window=values["window"], bucket=timedelta(minutes=1)
    )


def one(doc: Doc) -> dict[str, Any]:
    (body,) = from_openslo([doc])
    return body


# --- mappings --------------------------------------------------------------------------------

RATIO = {"source": "prometheus", "type": "ratio", "good": GOOD, "total": TOTAL}

MAPPINGS: list[tuple[str, Doc, dict[str, Any]]] = [
    (
        "ratio-good-target-rolling",
        slo_doc(),
        {
            "service": "churn-model",
            "name": "availability",
            "kind": "custom",
            "objective": 0.999,
            "window": "28d",
            "sli": RATIO,
            "alerting": {"enabled": False},
        },
    ),
    (
        "ratio-bad",
        edit(
            edit(slo_doc(), "spec.indicator.spec.ratioMetric.good", ...),
            "spec.indicator.spec.ratioMetric.bad",
            source('ml_predictions_total{status="error"}'),
        ),
        {
            "sli": {
                "source": "prometheus",
                "type": "ratio",
                "total": TOTAL,
                "bad": 'ml_predictions_total{status="error"}',
            }
        },
    ),
    (
        "sum-rate-is-the-counter",
        edit(
            slo_doc(),
            "spec.indicator.spec.ratioMetric.good.metricSource.spec.query",
            f"sum(rate({GOOD}[5m]))",
        ),
        {"sli": RATIO},
    ),
    (
        "increase-and-sum-are-the-counter",
        edit(
            edit(
                slo_doc(),
                "spec.indicator.spec.ratioMetric.good.metricSource.spec.query",
                f"increase({GOOD}[1h])",
            ),
            "spec.indicator.spec.ratioMetric.total.metricSource.spec.query",
            f"sum ( {TOTAL} )",
        ),
        {"sli": RATIO},
    ),
    ("target-percent", slo_doc(objectives=[{"targetPercent": 99.9}]), {"objective_percent": 99.9}),
    ("rolling-4w", slo_doc(timeWindow=[{"duration": "4w", "isRolling": True}]), {"window": "4w"}),
    ("rolling-24h-implied", slo_doc(timeWindow=[{"duration": "24h"}]), {"window": "24h"}),
    (
        "calendar-month",
        slo_doc(
            timeWindow=[
                {
                    "duration": "1M",
                    "isRolling": False,
                    "calendar": {"startTime": "2024-03-01 00:00:00", "timeZone": "Europe/Berlin"},
                }
            ]
        ),
        {"window": "month", "timezone": "Europe/Berlin"},
    ),
    (
        "calendar-week-start-as-yaml-datetime",
        slo_doc(timeWindow=[{"duration": "1w", "calendar": {"startTime": datetime(2024, 1, 8)}}]),
        {"window": "week"},
    ),
    (
        "threshold-timeslices",
        threshold_doc(timeSliceTarget=0.95, timeSliceWindow="1m"),
        {
            "name": "freshness",
            "objective": 0.99,
            "sli": {
                "source": "prometheus",
                "type": "threshold",
                "query": AGE,
                "op": "<=",
                "threshold": 86400.0,
            },
        },
    ),
    ("threshold-slice-in-minutes", threshold_doc(timeSliceWindow=1), {"objective": 0.99}),
    (
        "labels-lists-joined",
        edit(slo_doc(), "metadata.labels", {"team": ["a", "b"], "tier": "1"}),
        {"labels": {"team": "a,b", "tier": "1"}},
    ),
    (
        "texts-make-the-description",
        edit(
            slo_doc(
                description="Predictions that do not fail",
                objectives=[{"displayName": "Most", "target": 0.999}],
            ),
            "metadata.displayName",
            "Churn availability",
        ),
        {"description": "Churn availability — Predictions that do not fail — Most"},
    ),
    (
        "kind-annotation-restores-the-kind",
        edit(slo_doc(), "metadata.annotations", {"slo-service.io/kind": "availability"}),
        {"kind": "availability", "sli": None, "params": None},
    ),
    (
        "kind-annotation-keeps-a-difference-as-override",
        edit(
            edit(slo_doc(), "metadata.annotations", {"slo-service.io/kind": "availability"}),
            "spec.indicator.spec.ratioMetric.total.metricSource.spec.query",
            "ml_predictions_total",
        ),
        {"kind": "availability", "sli": {"total": "ml_predictions_total"}},
    ),
    (
        "latency-annotation",
        edit(
            edit(
                edit(
                    slo_doc(),
                    "metadata.annotations",
                    {
                        "slo-service.io/kind": "latency",
                        "slo-service.io/params": '{"threshold_ms": 250}',
                        "slo-service.io/sli-type": "latency",
                    },
                ),
                "spec.indicator.spec.ratioMetric.good.metricSource.spec.query",
                'ml_prediction_duration_seconds_bucket{model_name="churn-model",le="0.25"}',
            ),
            "spec.indicator.spec.ratioMetric.total.metricSource.spec.query",
            'ml_prediction_duration_seconds_count{model_name="churn-model"}',
        ),
        {"kind": "latency", "params": {"threshold_ms": 250}, "sli": None},
    ),
    (
        "no-data-and-gate-annotations",
        edit(
            slo_doc(),
            "metadata.annotations",
            {"slo-service.io/no-data": "bad", "slo-service.io/gate": '{"gating": false}'},
        ),
        {"no_data": "bad", "gate": {"gating": False}},
    ),
    (
        "default-alerting-annotation",
        edit(slo_doc(), "metadata.annotations", {"slo-service.io/alerting": "default"}),
        {"alerting": None},
    ),
    (
        "alerting-settings-annotations-with-default-tiers",
        edit(
            slo_doc(),
            "metadata.annotations",
            {
                "slo-service.io/alerting": "default",
                "slo-service.io/alerting-min-events": "5",
                "slo-service.io/alerting-no-data-for": "never",
            },
        ),
        {"alerting": {"min_events": 5.0, "no_data_for": "never"}},
    ),
    (
        "alerting-settings-annotations-without-alerts",
        edit(slo_doc(), "metadata.annotations", {"slo-service.io/alerting-min-events": "0.5"}),
        {"alerting": {"enabled": False, "min_events": 0.5}},
    ),
]


@pytest.mark.parametrize(
    ("doc", "expected"), [c[1:] for c in MAPPINGS], ids=[c[0] for c in MAPPINGS]
)
def test_mapping(doc: Doc, expected: dict[str, Any]) -> None:
    body = one(doc)
    for key, value in expected.items():
        assert body.get(key) == value, key
    columns(body)  # and the native side takes it


SEVERITIES = [
    ("page", "page"),
    ("critical", "page"),
    ("Critical", "page"),
    ("sev1", "ticket"),
    ("ticket", "ticket"),
    ("warning", "ticket"),
]


@pytest.mark.parametrize(("given", "severity"), SEVERITIES, ids=[s for s, _ in SEVERITIES])
def test_severity(given: str, severity: str) -> None:
    policy = {
        "apiVersion": "openslo/v1",
        "kind": "AlertPolicy",
        "metadata": {"name": "burn"},
        "spec": {
            "conditions": [
                {
                    "kind": "AlertCondition",
                    "metadata": {"name": "fast"},
                    "spec": {
                        "severity": given,
                        "condition": {
                            "kind": "burnrate",
                            "threshold": 14.4,
                            "lookbackWindow": "1h",
                        },
                    },
                }
            ]
        },
    }
    (body,) = from_openslo([slo_doc(alertPolicies=["burn"]), policy])
    assert body["alerting"]["tiers"][0]["severity"] == severity


WINDOWS = [
    ("rolling-30d", [{"duration": "30d", "isRolling": True}], 14.4),
    ("rolling-28d", [{"duration": "28d", "isRolling": True}], 14.4),
    ("month-is-30d", [{"duration": "1M", "calendar": {"timeZone": "UTC"}}], 14.4),
    ("week-is-7d", [{"duration": "1w", "calendar": {"timeZone": "UTC"}}], 14.4),
    ("high-burn-rate", [{"duration": "28d", "isRolling": True}], 1000),
]


@pytest.mark.parametrize(
    ("window", "factor"), [w[1:] for w in WINDOWS], ids=[w[0] for w in WINDOWS]
)
def test_burn_rate_threshold_is_the_factor_whatever_the_window(
    window: list[Doc], factor: float
) -> None:
    condition = {
        "kind": "burnrate",
        "op": "gt",
        "threshold": factor,
        "lookbackWindow": "1h",
    }
    inline = {
        "kind": "AlertPolicy",
        "metadata": {"name": "p"},
        "spec": {
            "severity": "page",
            "conditions": [{"kind": "AlertCondition", "spec": {"condition": condition}}],
        },
    }
    body = one(slo_doc(timeWindow=window, alertPolicies=[inline]))
    assert body["alerting"] == {
        "enabled": True,
        "tiers": [
            {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": factor}
        ],
    }
    columns(body)  # and the native side takes it


FACTORS = [14.4, 6.0, 6, 1.0, 1, 2.0533333333333332, 14.400000000000002]


@pytest.mark.parametrize("factor", FACTORS, ids=[repr(f) for f in FACTORS])
def test_a_factor_round_trips_exactly(factor: float) -> None:
    tier = {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": factor}
    before = columns(
        native("a", "availability", window="28d", alerting={"enabled": True, "tiers": [tier]})
    )
    documents = to_openslo(before)
    condition = documents[1]["spec"]["conditions"][0]["spec"]["condition"]
    assert condition["threshold"] == factor
    (back,) = from_openslo(list(yaml.safe_load_all(dump(documents))))
    (came_back,) = back["alerting"]["tiers"]
    assert repr(came_back["factor"]) == repr(float(factor))
    assert came_back == {**tier, "factor": float(factor)}
    assert to_openslo(columns(back)) == documents


def _older(window: str, tier: dict[str, Any]) -> slos.Columns:
    """An SLO stored before tiers stated their factor: its tier gives ``budget_spent``, and
    may be one the store now refuses (a factor under 1)."""
    values = columns(native("a", "availability", window=window))
    values["alerting"] = {"enabled": True, "tiers": [tier]}
    return values


BURNS = [
    ("0.02-1h-30d", 0.02, "1h", "30d", 14.4),
    ("0.05-6h-30d", 0.05, "6h", "30d", 6.0),
    ("0.1-3d-30d", 0.1, "3d", "30d", 1.0),
    ("0.02-1h-month", 0.02, "1h", "month", 14.4),
    ("old-import-of-14.4-1h-28d", 0.0214285714285714, "1h", "28d", 14.4),
    ("0.05-6h-week", 0.05, "6h", "week", 1.4),
    ("0.22-3d-28d", 0.22, "3d", "28d", 2.05333333333333),
    ("0.0125-30m-366d", 0.0125, "30m", "366d", 219.6),
]


@pytest.mark.parametrize(
    ("spent", "long", "window", "factor"), [b[1:] for b in BURNS], ids=[b[0] for b in BURNS]
)
def test_a_budget_spent_tier_exports_its_factor(
    spent: float, long: str, window: str, factor: float
) -> None:
    tier = {"severity": "ticket", "long_window": long, "short_window": "2m", "budget_spent": spent}
    documents = to_openslo(_older(window, tier))
    condition = documents[1]["spec"]["conditions"][0]["spec"]["condition"]
    assert condition["threshold"] == factor
    exact = factor_of_share(spent, parse_duration(long), nominal_length(parse_window(window)))
    assert condition["threshold"] == pytest.approx(exact, rel=1e-14)
    (back,) = from_openslo(list(yaml.safe_load_all(dump(documents))))
    assert back["alerting"]["tiers"] == [
        {"severity": "ticket", "long_window": long, "short_window": "2m", "factor": factor}
    ]


def test_an_older_tier_under_factor_1_exports_but_does_not_come_back() -> None:
    tier = {"severity": "ticket", "long_window": "3d", "short_window": "6h", "budget_spent": 0.1}
    documents = to_openslo(_older("7d", tier))
    condition = documents[1]["spec"]["conditions"][0]["spec"]["condition"]
    assert condition["threshold"] == 0.233333333333333
    assert problems(list(yaml.safe_load_all(dump(documents)))) == [
        "document 2 (AlertPolicy churn-model-a-ticket), spec.conditions[0].spec.condition."
        "threshold: a burn rate of 0.233333333333333 is under 1: the tier would fire while the "
        "SLO is met (a burn rate of 1 spends exactly the budget over the window); give at "
        "least 1"
    ]


def test_a_7d_slo_without_tiers_exports_the_default_annotation() -> None:
    documents = to_openslo(columns(native("a", "availability", window="7d")))
    (document,) = documents  # no AlertPolicy: the default tiers are not written out
    assert document["metadata"]["annotations"]["slo-service.io/alerting"] == "default"
    assert "alertPolicies" not in document["spec"]
    (back,) = from_openslo(list(yaml.safe_load_all(dump(documents))))
    assert back.get("alerting") is None
    settings = effective(columns(back))
    assert not settings.custom_tiers
    assert [(t.long_window, t.short_window, t.factor) for t in settings.tiers] == [
        (timedelta(minutes=14), timedelta(minutes=1), 14.4),
        (timedelta(minutes=84), timedelta(minutes=7), 6.0),
        (timedelta(minutes=336), timedelta(minutes=28), 3.0),
        (timedelta(minutes=1008), timedelta(minutes=84), 1.0),
    ]


SETTINGS = [
    (
        "default-tiers",
        {"min_events": 50, "no_data_for": "2h"},
        {
            "slo-service.io/alerting": "default",
            "slo-service.io/alerting-min-events": "50",
            "slo-service.io/alerting-no-data-for": "2h",
        },
    ),
    (
        "own-tiers",
        {
            "tiers": [{"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 6}],
            "min_events": 2.5,
        },
        {"slo-service.io/alerting-min-events": "2.5"},
    ),
    (
        "disabled",
        {"enabled": False, "min_events": 0, "no_data_for": "never"},
        {"slo-service.io/alerting-min-events": "0", "slo-service.io/alerting-no-data-for": "never"},
    ),
    ("unset", {"no_data_for": None}, {"slo-service.io/alerting": "default"}),
]


@pytest.mark.parametrize(
    ("alerting", "annotations"), [c[1:] for c in SETTINGS], ids=[c[0] for c in SETTINGS]
)
def test_min_events_and_no_data_for_ride_in_annotations(
    alerting: dict[str, Any], annotations: dict[str, str]
) -> None:
    before = columns(native("a", "availability", window="7d", alerting=alerting))
    documents = to_openslo(before)
    notes = documents[0]["metadata"]["annotations"]
    assert {k: v for k, v in notes.items() if "alerting" in k} == annotations
    (back,) = from_openslo(list(yaml.safe_load_all(dump(documents))))
    for key in ("min_events", "no_data_for"):
        assert (back.get("alerting") or {}).get(key) == alerting.get(key), key
    after = columns(back)
    assert effective(after) == effective(before)  # {"enabled": true} alone comes back as null


def test_the_example_maps_references_policies_and_conditions() -> None:
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    bodies = {body["name"]: body for body in from_openslo(documents)}
    assert sorted(bodies) == ["availability", "model-freshness", "timeouts"]
    availability, timeouts = bodies["availability"], bodies["timeouts"]
    assert availability["sli"] == RATIO  # by reference, sum(rate(...)) read as the counter
    assert availability["labels"] == {"team": "ml-platform", "tier": "1"}
    assert timeouts["window"] == "month"
    assert timeouts["timezone"] == "Europe/Berlin"
    assert timeouts["objective_percent"] == 99.5
    assert timeouts["sli"]["bad"].endswith('status="timeout"}')
    assert timeouts["alerting"]["tiers"] == [
        {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 14.4},
        {"severity": "ticket", "long_window": "6h", "short_window": "30m", "factor": 6.0},
    ]
    assert bodies["model-freshness"]["sli"]["op"] == "<="
    assert bodies["model-freshness"]["alerting"] == {"enabled": False}


def test_several_objectives_make_one_slo_each() -> None:
    doc = slo_doc(objectives=[{"displayName": "Fast Path!", "target": 0.999}, {"target": 0.99}])
    first, second = from_openslo([doc])
    assert (first["name"], first["objective"]) == ("availability-fast-path", 0.999)
    assert first["description"] == "Fast Path!"
    assert (second["name"], second["objective"]) == ("availability-1", 0.99)
    assert first["sli"] == second["sli"] == RATIO
    items = apply_service.parse_yaml(yaml.safe_dump(doc))
    assert [item.where for item in items] == [
        "document 1 (SLO availability), spec.objectives[0]",
        "document 1 (SLO availability), spec.objectives[1]",
    ]


# --- refusals --------------------------------------------------------------------------------

SLO_AT = "document 1 (SLO availability), "
QUERY = "spec.indicator.spec.ratioMetric.good.metricSource"

ERRORS: list[tuple[str, list[Any], str]] = [
    ("unknown-top-level", [edit(slo_doc(), "status", {})], SLO_AT + "status: not supported"),
    (
        "unknown-metadata",
        [edit(slo_doc(), "metadata.namespace", "x")],
        SLO_AT + "metadata.namespace: not supported",
    ),
    (
        "unknown-in-objective",
        [edit(slo_doc(), "spec.objectives.0.foo", 1)],
        SLO_AT + "spec.objectives[0].foo: not supported",
    ),
    (
        "unknown-in-time-window",
        [edit(slo_doc(), "spec.timeWindow.0.unit", "Day")],
        SLO_AT + "spec.timeWindow[0].unit: not supported",
    ),
    (
        "unknown-deep-in-metric-source",
        [edit(slo_doc(), f"{QUERY}.spec.region", "eu")],
        SLO_AT + f"{QUERY}.spec.region: not supported",
    ),
    (
        "non-prometheus-source",
        [edit(slo_doc(), f"{QUERY}.type", "Datadog")],
        SLO_AT + f"{QUERY}.type: 'Datadog': slo-service reads Prometheus only",
    ),
    (
        "metric-source-ref-not-a-name",
        [edit(slo_doc(), f"{QUERY}.metricSourceRef", "Prom EU")],
        SLO_AT + f"{QUERY}.metricSourceRef: 'Prom EU' is not a datasource name",
    ),
    (
        "query-not-a-counter",
        [edit(slo_doc(), f"{QUERY}.spec.query", "sum(rate(a[5m])) / sum(rate(b[5m]))")],
        SLO_AT + f"{QUERY}.spec.query: 'sum(rate(a[5m])) / sum(rate(b[5m]))' is not a counter",
    ),
    (
        "not-a-counter",
        [edit(slo_doc(), "spec.indicator.spec.ratioMetric.counter", False)],
        SLO_AT + "spec.indicator.spec.ratioMetric.counter: slo-service counts events of counters",
    ),
    (
        "raw-ratio",
        [edit(slo_doc(), "spec.indicator.spec.ratioMetric.raw", source("x"))],
        SLO_AT + "spec.indicator.spec.ratioMetric.raw: not supported",
    ),
    (
        "ratio-timeslices",
        [slo_doc(budgetingMethod="RatioTimeslices")],
        SLO_AT + "spec.budgetingMethod: RatioTimeslices: not supported",
    ),
    (
        "ratio-by-timeslices",
        [slo_doc(budgetingMethod="Timeslices")],
        SLO_AT + "spec.budgetingMethod: Timeslices with a ratioMetric",
    ),
    (
        "threshold-by-occurrences",
        [edit(threshold_doc(), "spec.budgetingMethod", "Occurrences")],
        "document 1 (SLO freshness), spec.budgetingMethod: Occurrences: slo-service budgets a "
        "thresholdMetric by Timeslices",
    ),
    (
        "bad-name",
        [edit(slo_doc(), "metadata.name", "Churn Availability")],
        "document 1 (SLO Churn Availability), metadata.name: 'Churn Availability' is not a slug",
    ),
    ("bad-service", [slo_doc(service="Churn")], SLO_AT + "spec.service: 'Churn' is not a slug"),
    (
        "calendar-start-mid-month",
        [
            slo_doc(
                timeWindow=[
                    {
                        "duration": "1M",
                        "isRolling": False,
                        "calendar": {
                            "startTime": "2020-01-21 12:30:00",
                            "timeZone": "America/New_York",
                        },
                    }
                ]
            )
        ],
        SLO_AT + "spec.timeWindow[0].calendar.startTime: 2020-01-21 12:30:00 is not the start of a "
        "month",
    ),
    (
        "calendar-week-not-monday",
        [slo_doc(timeWindow=[{"duration": "1w", "calendar": {"startTime": "2024-01-03"}}])],
        SLO_AT + "spec.timeWindow[0].calendar.startTime: 2024-01-03 00:00:00 is not the start of a "
        "week",
    ),
    (
        "calendar-quarter",
        [slo_doc(timeWindow=[{"duration": "1Q", "calendar": {}}])],
        SLO_AT + "spec.timeWindow[0].duration: '1Q': slo-service's calendar windows are 1M",
    ),
    (
        "rolling-month",
        [slo_doc(timeWindow=[{"duration": "1M", "isRolling": True}])],
        SLO_AT + "spec.timeWindow[0].duration: '1M' is not a window",
    ),
    (
        "bad-time-zone",
        [slo_doc(timeWindow=[{"duration": "1M", "calendar": {"timeZone": "Mars/Olympus"}}])],
        SLO_AT + "spec.timeWindow[0].calendar.timeZone: 'Mars/Olympus' is not an IANA time zone",
    ),
    (
        "target-and-percent",
        [slo_doc(objectives=[{"target": 0.9, "targetPercent": 90}])],
        SLO_AT + "spec.objectives[0].target: give target (e.g. 0.999) or targetPercent",
    ),
    (
        "target-out-of-range",
        [slo_doc(objectives=[{"target": 1.5}])],
        SLO_AT + "spec.objectives[0].target: must be between 0 and 1 exclusive, got 1.5",
    ),
    (
        "op-on-ratio",
        [slo_doc(objectives=[{"target": 0.9, "op": "gt"}])],
        SLO_AT + "spec.objectives[0].op: only with a thresholdMetric",
    ),
    (
        "threshold-slice-window",
        [threshold_doc(timeSliceWindow="5m")],
        "document 1 (SLO freshness), spec.objectives[0].timeSliceWindow: slo-service's time slice "
        "is one bucket of 1m",
    ),
    (
        "threshold-two-objectives",
        [edit(threshold_doc(), "spec.objectives.1", {"op": "lt", "value": 1, "target": 0.9})],
        "document 1 (SLO freshness), spec.objectives: a thresholdMetric has one objective",
    ),
    (
        "threshold-op",
        [threshold_doc(op="eq")],
        "document 1 (SLO freshness), spec.objectives[0].op: 'eq': give one of lt, lte, gt, gte",
    ),
    (
        "threshold-op-not-text",
        [threshold_doc(op=["lt"])],
        "document 1 (SLO freshness), spec.objectives[0].op: ['lt']: give one of lt, lte, gt, gte",
    ),
    (
        "kind-not-text",
        [edit(slo_doc(), "kind", {})],
        "document 1, kind: {}: must be a text, one of SLO, SLI",
    ),
    (
        "annotation-differs-from-label",
        [
            edit(
                edit(slo_doc(), "metadata.annotations", {"team": "b"}),
                "metadata.labels",
                {"team": "a"},
            )
        ],
        SLO_AT + "metadata.annotations.team: 'b' differs from the label team: 'a': slo-service "
        "keeps other tools' annotations as labels, one value per key; make them agree",
    ),
    (
        "annotation-key-too-long-for-a-label",
        [edit(slo_doc(), "metadata.annotations", {"example.com/" + "k" * 60: "v"})],
        SLO_AT + "metadata.annotations.example.com/" + "k" * 60 + ": slo-service keeps each "
        "annotation as a label, whose key starts with a letter",
    ),
    (
        "unknown-kind-annotation",
        [edit(slo_doc(), "metadata.annotations", {"slo-service.io/kind": "uptime"})],
        SLO_AT + "metadata.annotations.slo-service.io/kind: 'uptime': give one of",
    ),
    (
        "min-events-not-a-number",
        [edit(slo_doc(), "metadata.annotations", {"slo-service.io/alerting-min-events": "a few"})],
        SLO_AT + "metadata.annotations.slo-service.io/alerting-min-events: 'a few': give a "
        "number of events, e.g. 10",
    ),
    (
        "min-events-negative",
        [edit(slo_doc(), "metadata.annotations", {"slo-service.io/alerting-min-events": "-1"})],
        SLO_AT + "metadata.annotations.slo-service.io/alerting-min-events: Input should be "
        "greater than or equal to 0",
    ),
    (
        "no-data-for-not-a-duration",
        [edit(slo_doc(), "metadata.annotations", {"slo-service.io/alerting-no-data-for": "soon"})],
        SLO_AT + "metadata.annotations.slo-service.io/alerting-no-data-for: 'soon' is not a "
        "duration",
    ),
    (
        "indicator-ref-missing",
        [edit(slo_doc(indicatorRef="nope"), "spec.indicator", ...)],
        SLO_AT + "spec.indicatorRef: no SLI document is named 'nope'",
    ),
    (
        "data-source",
        [
            {
                "apiVersion": "openslo/v1",
                "kind": "DataSource",
                "metadata": {"name": "prom"},
                "spec": {},
            }
        ],
        "document 1 (DataSource prom), kind: DataSource: not supported",
    ),
    (
        "other-api-version",
        [edit(slo_doc(), "apiVersion", "openslo/v1alpha")],
        SLO_AT + "apiVersion: 'openslo/v1alpha'",
    ),
]

SLI_DOC: Doc = {
    "apiVersion": "openslo/v1",
    "kind": "SLI",
    "metadata": {"name": "good-ratio"},
    "spec": {"ratioMetric": {"counter": True, "good": source(GOOD), "total": source(TOTAL)}},
}
BY_REF = edit(slo_doc(indicatorRef="good-ratio"), "spec.indicator", ...)
CONDITION: Doc = {
    "kind": "burnrate",
    "op": "gt",
    "threshold": 14.4,
    "lookbackWindow": "1h",
}
POLICY: Doc = {
    "apiVersion": "openslo/v1",
    "kind": "AlertPolicy",
    "metadata": {"name": "burn"},
    "spec": {"conditions": [{"conditionRef": "fast"}]},
}
CONDITION_DOC: Doc = {
    "apiVersion": "openslo/v1",
    "kind": "AlertCondition",
    "metadata": {"name": "fast"},
    "spec": {"severity": "page", "condition": CONDITION},
}
WITH_POLICY = [slo_doc(alertPolicies=[{"alertPolicyRef": "burn"}]), POLICY, CONDITION_DOC]
POLICY_AT = "document 2 (AlertPolicy burn), spec."
CONDITION_AT = "document 3 (AlertCondition fast), spec.condition."

ERRORS += [
    (
        "label-of-the-sli-differs",
        [
            edit(BY_REF, "metadata.labels", {"env": "prod"}),
            edit(SLI_DOC, "metadata.labels", {"env": ["dev"]}),
        ],
        "document 2 (SLI good-ratio), metadata.labels.env: 'dev' differs from 'prod' given at "
        "document 1 (SLO availability), metadata.labels.env: an SLO has one value per label; "
        "make them agree",
    ),
    ("unused-sli", [slo_doc(), SLI_DOC], "document 2 (SLI good-ratio): no SLO uses it"),
    (
        "sli-slo-service-annotation",
        [BY_REF, edit(SLI_DOC, "metadata.annotations", {"slo-service.io/kind": "latency"})],
        "document 2 (SLI good-ratio), metadata.annotations.slo-service.io/kind: slo-service reads "
        "its own annotations on SLO documents",
    ),
    (
        "unknown-in-referenced-sli",
        [BY_REF, edit(SLI_DOC, "spec.ratioMetric.total.foo", 1)],
        "document 2 (SLI good-ratio), spec.ratioMetric.total.foo: not supported",
    ),
    (
        "policy-missing",
        [slo_doc(alertPolicies=["nope"])],
        SLO_AT + "spec.alertPolicies[0]: no AlertPolicy document is named 'nope'",
    ),
    (
        "notification-targets",
        [
            WITH_POLICY[0],
            edit(POLICY, "spec.notificationTargets", [{"targetRef": "mail"}]),
            CONDITION_DOC,
        ],
        POLICY_AT + "notificationTargets: not supported: slo-service sends alerts by its "
        "notification routes",
    ),
    (
        "alert-when-no-data-not-a-boolean",
        [WITH_POLICY[0], edit(POLICY, "spec.alertWhenNoData", "yes"), CONDITION_DOC],
        POLICY_AT + "alertWhenNoData: give true or false",
    ),
    (
        "alert-when-no-data-false-beside-no-data-for",
        [
            edit(
                WITH_POLICY[0],
                "metadata.annotations",
                {"slo-service.io/alerting-no-data-for": "1h"},
            ),
            edit(POLICY, "spec.alertWhenNoData", False),
            CONDITION_DOC,
        ],
        POLICY_AT + "alertWhenNoData: false turns the no-data ticket off, but "
        "slo-service.io/alerting-no-data-for raises it after 1h: leave one out",
    ),
    (
        "condition-kind",
        [*WITH_POLICY[:2], edit(CONDITION_DOC, "spec.condition.kind", "budget")],
        CONDITION_AT + "kind: 'budget': slo-service alerts on burnrate only",
    ),
    (
        "alert-after-longer-than-the-lookback",
        [*WITH_POLICY[:2], edit(CONDITION_DOC, "spec.condition.alertAfter", "2h")],
        CONDITION_AT + "alertAfter: its hold (2h) is longer than its long window (1h): a burn "
        "that lasts that long is the next tier's to catch; shorten the hold",
    ),
    (
        "alert-after-not-a-duration",
        [*WITH_POLICY[:2], edit(CONDITION_DOC, "spec.condition.alertAfter", "soon")],
        CONDITION_AT + "alertAfter: 'soon' is not a duration",
    ),
    (
        "burn-rate-op-lte",
        [*WITH_POLICY[:2], edit(CONDITION_DOC, "spec.condition.op", "lte")],
        CONDITION_AT + "op: 'lte': a slo-service tier fires while the burn rate is above its "
        "threshold; a condition on a burn rate at or under it would fire while the SLO is met: "
        "give gt",
    ),
    (
        "short-window-not-shorter",
        [
            *WITH_POLICY[:2],
            edit(CONDITION_DOC, "metadata.annotations", {"slo-service.io/short-window": "1h"}),
        ],
        "document 3 (AlertCondition fast), metadata.annotations.slo-service.io/short-window: "
        "the short window must be shorter than lookbackWindow",
    ),
    (
        "short-window-on-the-slo",
        [edit(slo_doc(), "metadata.annotations", {"slo-service.io/short-window": "5m"})],
        SLO_AT + "metadata.annotations.slo-service.io/short-window: not one of slo-service's "
        "annotations of an SLO",
    ),
    (
        "lookback-too-short-for-a-short-window",
        [*WITH_POLICY[:2], edit(CONDITION_DOC, "spec.condition.lookbackWindow", "1m")],
        CONDITION_AT + "lookbackWindow: too short for a tier: its short window (lookbackWindow / "
        "12, at least 1m) must be shorter than it; give at least 2m",
    ),
    (
        "burn-rate-under-1",
        [*WITH_POLICY[:2], edit(CONDITION_DOC, "spec.condition.threshold", 0.5)],
        CONDITION_AT + "threshold: a burn rate of 0.5 is under 1: the tier would fire while the "
        "SLO is met",
    ),
    (
        "burn-rate-too-high",
        [*WITH_POLICY[:2], edit(CONDITION_DOC, "spec.condition.threshold", 2_000_000)],
        CONDITION_AT + "threshold: Input should be less than or equal to 1000000",
    ),
    (
        "lookback-longer-than-the-window",
        [
            *WITH_POLICY[:2],
            edit(CONDITION_DOC, "spec.condition.lookbackWindow", "29d"),
        ],
        CONDITION_AT + "lookbackWindow: 29d is longer than the SLO's window (28d)",
    ),
    (
        "unknown-in-inline-condition",
        [
            slo_doc(
                alertPolicies=[
                    edit(
                        POLICY,
                        "spec.conditions.0",
                        {
                            "kind": "AlertCondition",
                            "spec": {"severity": "page", "condition": {**CONDITION, "every": "1m"}},
                        },
                    )
                ]
            )
        ],
        SLO_AT + "spec.alertPolicies[0].spec.conditions[0].spec.condition.every: not supported",
    ),
    (
        "no-severity",
        [*WITH_POLICY[:2], edit(CONDITION_DOC, "spec.severity", ...)],
        "document 3 (AlertCondition fast), spec.severity: required",
    ),
]


@pytest.mark.parametrize(
    ("documents", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_refused_naming_the_field(documents: list[Any], message: str) -> None:
    found = problems(documents)
    assert any(line.startswith(message) for line in found), found


def test_every_document_is_reported_at_once() -> None:
    found = problems([slo_doc(service="X"), edit(slo_doc(), "spec.objectives.0.foo", 1)])
    assert [line.split(":")[0] for line in found] == [
        "document 1 (SLO availability), spec.service",
        "document 2 (SLO availability), spec.objectives[0].foo",
    ]


def test_a_file_mixing_native_and_openslo_is_refused() -> None:
    native = {"service": "churn-model", "name": "x", "kind": "availability", "objective": 0.9}
    with pytest.raises(InvalidInput) as caught:
        apply_service.parse_yaml(yaml.safe_dump_all([slo_doc(), native]))
    assert "document 2: not OpenSLO: a file holds native SLOs or OpenSLO" in str(caught.value)


def test_a_yaml_list_of_objects_is_read_too() -> None:
    (body,) = from_openslo([[BY_REF, SLI_DOC]])
    assert body["sli"] == RATIO


# --- round trips -----------------------------------------------------------------------------

TIERS = [
    {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 14.4},
    {"severity": "page", "long_window": "6h", "short_window": "30m", "factor": 6.0},
    {"severity": "ticket", "long_window": "3d", "short_window": "6h", "factor": 1.0},
]


def native(name: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"service": "churn-model", "name": name, "kind": kind, "objective": 0.99, **fields}


EXPRESSIBLE = [
    native("availability", "availability"),
    native(
        "availability-bad",
        "availability",
        params={"error_statuses": ["error", "timeout"]},
        sli={"bad": 'ml_predictions_total{status="error"}'},
        objective=None,
        objective_percent=99.9,
        labels={"team": "ml", "tier": "1"},
        description="Errors",
    ),
    native(
        "latency",
        "latency",
        params={"threshold_ms": 500},
        window="7d",
        alerting={"enabled": True, "tiers": TIERS, "min_events": 2.5, "no_data_for": "1h"},
    ),
    native("freshness-latest", "model_freshness", window="month", timezone="Europe/Berlin"),
    native(
        "freshness-age",
        "model_freshness",
        params={"max_age_hours": 24},
        window="week",
        alerting={"enabled": True, "tiers": TIERS[:1]},
    ),
    native(
        "accuracy",
        "accuracy",
        params={"baseline": 0.91, "tolerance": 0.02},
        no_data="bad",
        gate={"gating": False, "freeze_threshold": 0.1},
    ),
    native(
        "data-freshness",
        "data_freshness",
        params={"max_age_minutes": 45, "model_name": "m"},
        alerting={"enabled": False, "min_events": 0, "no_data_for": "never"},
    ),
    native("quiet", "availability", window="week", alerting={"min_events": 100}),
    native(
        "custom-ratio",
        "custom",
        sli={
            "source": "prometheus",
            "type": "ratio",
            "bad": "errors_total",
            "total": "requests_total",
        },
    ),
    native(
        "custom-threshold",
        "custom",
        window="4w",
        sli={
            "source": "prometheus",
            "type": "threshold",
            "query": "avg(up)",
            "op": ">",
            "threshold": 0.5,
        },
    ),
    native(
        "custom-latency",
        "custom",
        sli={
            "source": "prometheus",
            "type": "latency",
            "histogram": 'http_duration_seconds{job="api"}',
            "threshold_seconds": 0.25,
        },
    ),
]


@pytest.mark.parametrize("body", EXPRESSIBLE, ids=[b["name"] for b in EXPRESSIBLE])
def test_native_openslo_native_keeps_every_field(body: dict[str, Any]) -> None:
    before = columns(body)
    documents = to_openslo(before)
    text = dump(documents)
    (back,) = from_openslo(list(yaml.safe_load_all(text)))
    assert meaning(columns(back)) == meaning(before)
    assert to_openslo(columns(back)) == documents  # and a second trip changes nothing


def test_tiers_come_back_grouped_by_severity() -> None:
    mixed = [TIERS[0], TIERS[2], TIERS[1]]
    before = columns(native("a", "availability", alerting={"enabled": True, "tiers": mixed}))
    policies = to_openslo(before)[1:]
    assert [p["metadata"]["name"] for p in policies] == [
        "churn-model-a-page",
        "churn-model-a-ticket",
    ]
    assert [len(p["spec"]["conditions"]) for p in policies] == [2, 1]
    (back,) = from_openslo(to_openslo(before))
    assert back["alerting"]["tiers"] == TIERS


INEXPRESSIBLE = [
    ("drift", native("drift", "drift"), "sli.source: cannot be expressed in OpenSLO"),
    (
        "push",
        native("pushed", "custom", sli={"source": "push"}),
        "sli.source: cannot be expressed in OpenSLO: its SLI is pushed",
    ),
    (
        "equality-threshold",
        native(
            "eq",
            "custom",
            sli={
                "source": "prometheus",
                "type": "threshold",
                "query": "up",
                "op": "==",
                "threshold": 1,
            },
        ),
        "sli.op: cannot be expressed in OpenSLO",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"), [i[1:] for i in INEXPRESSIBLE], ids=[i[0] for i in INEXPRESSIBLE]
)
def test_what_openslo_cannot_express_is_refused(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        to_openslo(columns(body))
    assert str(caught.value).startswith(message)


def test_example_openslo_native_openslo_native_is_stable() -> None:
    first = [columns(b) for b in from_openslo(list(yaml.safe_load_all(EXAMPLE.read_text())))]
    exported = [doc for values in first for doc in to_openslo(values)]
    second = [columns(b) for b in from_openslo(list(yaml.safe_load_all(dump(exported))))]
    assert [meaning(v) for v in second] == [meaning(v) for v in first]
    assert [doc for values in second for doc in to_openslo(values)] == exported


# --- through the CLI and the API -------------------------------------------------------------


export_app = typer.Typer()
export_app.command("export")(export)


@export_app.callback()
def _group() -> None:
    """Makes ``export`` a subcommand, as it is in slo-service."""


def test_apply_the_example_then_export_and_apply_it_back(
    env: dict[str, str], db: Engine, tmp_path: Path
) -> None:
    plan = runner.invoke(app, ["apply", "-f", str(EXAMPLE), "--dry-run"])
    assert plan.exit_code == 0, plan.output
    assert "3 create, 0 update, 0 delete, 0 unchanged (dry run: nothing written)" in plan.output
    assert slo_names(db) == []
    applied = runner.invoke(app, ["apply", "-f", str(EXAMPLE)])
    assert applied.exit_code == 0, applied.output
    assert slo_names(db) == [
        "churn-model:availability",
        "churn-model:model-freshness",
        "churn-model:timeouts",
    ]
    for output_format in ("openslo", "native"):
        path = tmp_path / f"{output_format}.yaml"
        exported = runner.invoke(
            export_app, ["export", "--format", output_format, "--out", str(path)]
        )
        assert exported.exit_code == 0, exported.output
        again = runner.invoke(app, ["apply", "-f", str(path), "--prune"])
        assert again.exit_code == 0, again.output
        assert "0 create, 0 update, 0 delete, 3 unchanged" in again.output, output_format


def test_apply_names_the_openslo_field(env: dict[str, str], db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(dump([edit(slo_doc(), "spec.objectives.0.foo", 1)]))
    result = runner.invoke(app, ["apply", "-f", str(path)])
    assert result.exit_code == 1
    assert "document 1 (SLO availability), spec.objectives[0].foo: not supported" in result.output
    assert slo_names(db) == []


def test_export_refuses_what_openslo_cannot_express(
    env: dict[str, str], db: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "slos.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "service": "churn-model",
                "slos": [
                    {
                        "name": "pushed",
                        "kind": "custom",
                        "objective": 0.9,
                        "sli": {"source": "push"},
                    },
                    {"name": "availability", "kind": "availability", "objective": 0.9},
                ],
            }
        )
    )
    assert runner.invoke(app, ["apply", "-f", str(path)]).exit_code == 0
    refused = runner.invoke(export_app, ["export", "--format", "openslo"])
    assert refused.exit_code == 1
    assert "churn-model:pushed: sli.source: cannot be expressed in OpenSLO" in refused.output
    skipped = runner.invoke(export_app, ["export", "--format", "openslo", "--skip-unsupported"])
    assert skipped.exit_code == 0, skipped.output
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(skipped.stdout)]
    assert names == ["availability"]


def test_get_slo_as_openslo(client: TestClient, admin: Headers) -> None:
    body = native(
        "latency",
        "latency",
        params={"threshold_ms": 500},
        labels={"team": "ml"},
        alerting={"enabled": True, "tiers": TIERS},
    )
    created = client.post("/api/v1/slos", json=body, headers=admin)
    assert created.status_code == 201, created.text
    answer = client.get(f"/api/v1/slos/{created.json()['id']}?format=openslo", headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/yaml")
    assert list(yaml.safe_load_all(answer.text)) == to_openslo(created.json())
    pushed = native("pushed", "custom", sli={"source": "push"})
    slo_id = client.post("/api/v1/slos", json=pushed, headers=admin).json()["id"]
    refused = client.get(f"/api/v1/slos/{slo_id}", params={"format": "openslo"}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["sli", "source"]
    assert client.get(f"/api/v1/slos/{slo_id}", headers=admin).json()["name"] == "pushed"


def test_export_through_a_server_matches_the_local_export(
    env: dict[str, str], db: Engine, make_token: Callable[..., Headers]
) -> None:
    assert runner.invoke(app, ["apply", "-f", str(EXAMPLE)]).exit_code == 0
    token = make_token("read", name="reader")["Authorization"].removeprefix("Bearer ")
    for output_format in ("openslo", "native"):
        local = runner.invoke(export_app, ["export", "--format", output_format])
        assert local.exit_code == 0, local.output
        with serve_in_thread(create_app(Settings())) as url:
            remote = runner.invoke(
                export_app,
                ["export", "--format", output_format, "--url", url, "--token", token],
            )
        assert remote.exit_code == 0, remote.output
        assert remote.stdout == local.stdout, output_format
    only = runner.invoke(export_app, ["export", "--format", "openslo", "--service", "other"])
    assert (only.exit_code, only.stdout) == (0, "")


def test_a_service_document_gives_its_slos_its_labels_and_texts() -> None:
    service = {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": "churn-model"}}
    (plain,) = from_openslo([service, slo_doc()])
    assert plain["name"] == "availability"
    assert "labels" not in plain
    assert "description" not in plain
    described = edit(
        edit(service, "spec", {"description": "Churn"}), "metadata.labels", {"team": ["ml"]}
    )
    (body,) = from_openslo([described, slo_doc()])
    assert body["description"] == "Service churn-model: Churn"
    assert body["labels"] == {"team": "ml"}
    other = edit(described, "metadata.name", "other-model")
    (unrelated,) = from_openslo([other, slo_doc()])  # another service's metadata stays its own
    assert "labels" not in unrelated
    assert "description" not in unrelated


@pytest.mark.parametrize("datasource", ["eu-prod", None])
def test_the_datasource_rides_in_metric_source_ref(datasource: str | None) -> None:
    """A non-default datasource is written as each metricSource's metricSourceRef and read
    back into sli.datasource; the default one is left out both ways."""
    ratio = {"source": "prometheus", "type": "ratio", "bad": 'x_total{code="500"}',
             "total": "x_total"}  # fmt: skip
    threshold = {"source": "prometheus", "type": "threshold", "query": "max(x)", "op": "<",
                 "threshold": 1.0}  # fmt: skip
    for sli, window in ((ratio, "28d"), (threshold, "7d")):
        if datasource:
            sli = {**sli, "datasource": datasource}
        body = {"service": "churn-model", "name": "n", "kind": "custom", "objective": 0.99,
                "window": window, "sli": sli}  # fmt: skip
        documents = to_openslo(body)
        sources = [
            s["metricSource"]
            for s in (documents[0]["spec"]["indicator"]["spec"].get("ratioMetric", {}).values())
            if isinstance(s, dict)
        ] or [documents[0]["spec"]["indicator"]["spec"]["thresholdMetric"]["metricSource"]]
        assert [s.get("metricSourceRef") for s in sources] == [datasource] * len(sources)
        (back,) = from_openslo(documents)
        assert back["sli"].get("datasource") == datasource


def test_good_and_total_from_two_datasources_are_refused() -> None:
    doc = edit(slo_doc(), f"{QUERY}.metricSourceRef", "eu-prod")
    found = problems([doc])
    assert any("give them the same metricSourceRef" in line for line in found), found


@pytest.mark.parametrize(("wanted", "no_data_for"), [(True, None), (False, "never"), (None, None)])
def test_alert_when_no_data_is_the_no_data_ticket(
    wanted: bool | None, no_data_for: str | None
) -> None:
    """true (slo-service's no-data ticket, after no_data_for) and left out keep the SLO's
    default; false turns the ticket off; an export writes it back the same."""
    policy = POLICY if wanted is None else edit(POLICY, "spec.alertWhenNoData", wanted)
    (body,) = from_openslo([WITH_POLICY[0], policy, CONDITION_DOC])
    assert body["alerting"].get("no_data_for") == no_data_for
    documents = to_openslo(body)
    assert [d["spec"]["alertWhenNoData"] for d in documents[1:]] == [no_data_for != "never"]
    (back,) = from_openslo(list(yaml.safe_load_all(dump(documents))))
    assert back["alerting"].get("no_data_for") == no_data_for


def test_alert_policies_that_disagree_on_no_data_are_refused() -> None:
    second = edit(edit(POLICY, "metadata.name", "quiet"), "spec.alertWhenNoData", False)
    loud = edit(POLICY, "spec.alertWhenNoData", True)
    slo = slo_doc(alertPolicies=[{"alertPolicyRef": "burn"}, {"alertPolicyRef": "quiet"}])
    found = problems([slo, loud, second, CONDITION_DOC])
    assert any("another alert policy of the SLO says true" in line for line in found), found
