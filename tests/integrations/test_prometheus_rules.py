"""Prometheus rules of SLOs: expressions, tiers and guards, then the real promtool, amtool and
Alertmanager on the generated files and on alerting/, and ``rules export`` against both
backends."""

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import Engine
from typer.testing import CliRunner

from slo_service.cli import app
from slo_service.cli.rules import rules_app
from slo_service.db import session_scope
from slo_service.domain import alert_settings
from slo_service.domain.sli import SLI_ADAPTER
from slo_service.integrations.prometheus_rules import build, common, promql
from slo_service.integrations.prometheus_rules import files as rule_files
from slo_service.models import SLO, ServicePolicy
from slo_service.repositories import policy as policy_repo
from slo_service.schemas.slo import SLOCreate
from slo_service.services import slos
from slo_service.sources.base import NoQueryChecker
from tests.support.servers import free_port

ALERTING = Path(__file__).resolve().parents[2] / "alerting"
BASE_URL = "http://127.0.0.1:8000"
runner = CliRunner()


def make_slo(slo_id: int = 1, **spec: Any) -> SLO:
    """An SLO row as ``apply`` would store it (availability of churn-model unless told)."""
    fields = {"service": "churn-model", "name": "availability", "kind": "availability"}
    data = SLOCreate.model_validate({**fields, "objective": 0.999, **spec})
    return SLO(**slos.prepare(data, NoQueryChecker()), id=slo_id)


def groups_of(slo: SLO, service_alerting: dict[str, Any] | None = None) -> list[common.Group]:
    found = build.slo_groups(slo, base_url=BASE_URL, service_alerting=service_alerting)
    assert isinstance(found, list)
    return found


def alerts_of(slo: SLO, service_alerting: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        rule for group in groups_of(slo, service_alerting) for rule in group["rules"]
        if "alert" in rule
    ]  # fmt: skip


def burn_alerts(slo: SLO) -> dict[str, dict[str, Any]]:
    """The SLOBurnRate rules of an SLO, by severity."""
    return {a["labels"]["severity"]: a for a in alerts_of(slo) if a["alert"] == "SLOBurnRate"}


def no_data_alerts(slo: SLO, service_alerting: dict[str, Any] | None = None) -> list[Any]:
    return [a for a in alerts_of(slo, service_alerting) if a["alert"] == "SLONoData"]


def records(slo: SLO) -> list[str]:
    return [rule["record"] for rule in groups_of(slo)[0]["rules"]]


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which(str(command[0]))
    assert binary, f"{command[0]} not found: apt-get install prometheus prometheus-alertmanager"
    args = [binary, *map(str, command[1:])]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)


# --- expressions, tiers, guards (no I/O) ---

HISTOGRAM = 'ml_prediction_duration_seconds{model_name="churn"}'


@pytest.mark.parametrize(
    ("sli", "expected"),
    [
        (
            {"type": "ratio", "bad": 'req_total{code=~"5.."}', "total": "req_total"},
            'sum(rate(req_total{code=~"5.."}[1h])) / sum(rate(req_total[1h]))',
        ),
        (
            {"type": "ratio", "good": 'req_total{code!~"5.."}', "total": "req_total"},
            '1 - (sum(rate(req_total{code!~"5.."}[1h])) / sum(rate(req_total[1h])))',
        ),
        (
            {"type": "latency", "histogram": HISTOGRAM, "threshold_seconds": 0.5},
            "1 - (sum(rate(ml_prediction_duration_seconds_bucket"
            '{model_name="churn",le="0.5"}[1h])) / '
            'sum(rate(ml_prediction_duration_seconds_count{model_name="churn"}[1h])))',
        ),
        (
            {"type": "latency", "histogram": "h_seconds", "threshold_seconds": 1},
            '1 - (sum(rate(h_seconds_bucket{le=~"1|1.0"}[1h])) / sum(rate(h_seconds_count[1h])))',
        ),
        (
            {"type": "threshold", "query": "min(acc)", "op": ">=", "threshold": 0.91 * 0.95},
            "1 - avg_over_time(((min(acc)) >= bool 0.8645)[1h:1m])",
        ),
        (
            {"type": "threshold", "query": "time() - max(t)", "op": "<", "threshold": 1800},
            "1 - avg_over_time(((time() - max(t)) < bool 1800)[1h:1m])",
        ),
    ],
    ids=["ratio-bad", "ratio-good", "latency", "latency-whole-seconds", "threshold", "age"],
)
def test_error_ratio_per_sli_type(sli: dict[str, Any], expected: str) -> None:
    spec = SLI_ADAPTER.validate_python({"source": "prometheus", **sli})
    assert promql.error_ratio(spec, "1h") == expected


TIER = re.compile(
    r"slo:sli_error:ratio_rate(\w+)\{[^}]*\} > \((\S+) \* 0\.001\)\)\n  and\n  "
    r"max without \(slo_window\) \(slo:sli_error:ratio_rate(\w+)\{[^}]*\} > \((\S+) \* 0\.001\)\)"
)


def tiers_in(expr: str) -> list[tuple[str, str, str]]:
    """The (long window, short window, factor) of each tier in a burn alert's expression."""
    found = []
    for long, factor, short, same in TIER.findall(expr):
        assert same == factor
        found.append((long, short, factor))
    return found


WORKBOOK_30D = {
    "page": [("1h", "5m", "14.4"), ("6h", "30m", "6")],
    "ticket": [("1d", "2h", "3"), ("3d", "6h", "1")],
}
SCALED_7D = {
    "page": [("14m", "1m", "14.4"), ("84m", "7m", "6")],
    "ticket": [("336m", "28m", "3"), ("1008m", "84m", "1")],
}
SCALED_28D = {  # 28/30 of the workbook's windows, to the minute: 56m, 4.67m -> 5m, 22.4h...
    "page": [("56m", "5m", "14.4"), ("336m", "28m", "6")],
    "ticket": [("1344m", "112m", "3"), ("4032m", "336m", "1")],
}


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("30d", WORKBOOK_30D),
        ("month", WORKBOOK_30D),
        ("7d", SCALED_7D),
        ("week", SCALED_7D),
        ("28d", SCALED_28D),
    ],
)
def test_one_alert_per_severity_with_the_tiers_scaled_to_the_window(
    window: str, expected: dict[str, list[tuple[str, str, str]]]
) -> None:
    slo = make_slo(window=window)
    alerts = burn_alerts(slo)
    assert list(alerts) == ["page", "ticket"]
    assert {s: tiers_in(a["expr"]) for s, a in alerts.items()} == expected
    # The windows are those of the one definition of effective tiers, none recomputed here.
    settings = alert_settings.effective(
        slo.alerting, None, window=window, bucket=timedelta(minutes=1)
    )
    effective = [(promql.duration(t.long_window), promql.duration(t.short_window))
                 for t in settings.tiers]  # fmt: skip
    assert effective == [(lg, sh) for s in ("page", "ticket") for lg, sh, _ in expected[s]]
    for severity, alert in alerts.items():
        assert alert["labels"] == {
            "severity": severity,
            "slo_service": "churn-model",
            "slo_name": "availability",
        }
        assert alert["annotations"]["tiers"] == ", or ".join(
            f"{f}x over {lg} and {sh}" for lg, sh, f in expected[severity]
        )


def test_the_page_is_an_or_of_the_page_tiers_each_guarded_by_min_events() -> None:
    (_, alerting) = groups_of(make_slo(slo_id=7, window="7d"))
    page = alerting["rules"][0]
    series = '{slo_service="churn-model",slo_name="availability"}'
    assert page["alert"] == "SLOBurnRate"
    assert page["expr"] == (
        "(\n"
        f"  max without (slo_window) (slo:sli_error:ratio_rate14m{series} > (14.4 * 0.001))\n"
        "  and\n"
        f"  max without (slo_window) (slo:sli_error:ratio_rate1m{series} > (14.4 * 0.001))\n"
        "  and\n"
        f"  max without (slo_window) (slo:sli_events:count1m{series} >= 10)\n"
        ")\n"
        "or\n"
        "(\n"
        f"  max without (slo_window) (slo:sli_error:ratio_rate84m{series} > (6 * 0.001))\n"
        "  and\n"
        f"  max without (slo_window) (slo:sli_error:ratio_rate7m{series} > (6 * 0.001))\n"
        "  and\n"
        f"  max without (slo_window) (slo:sli_events:count7m{series} >= 10)\n"
        ")"
    )
    assert "for" not in page
    annotations = page["annotations"]
    assert annotations["summary"] == (
        "churn-model availability: error budget burning too fast "
        "(14.4x over 14m and 1m, or 6x over 84m and 7m)"
    )
    assert annotations["description"] == (
        "The error budget of churn-model availability is 0.1% over 7d. Its error ratio is over "
        "1.44% (14.4x the budget) over both the last 14m and 1m, a pace that spends 2% of the "
        "budget in 14m; or 0.6% (6x the budget) over both the last 84m and 7m, a pace that "
        "spends 5% of the budget in 84m. A tier counts only while its short window holds at "
        "least 10 events. The SLO page shows the budget left, the burn rates and recent deploys."
    )
    assert annotations["slo_url"] == "http://127.0.0.1:8000/slos/7"


def test_recordings_cover_every_window_the_guard_and_the_meta_ratios() -> None:
    (recorded, alerting) = groups_of(make_slo(slo_id=7, window="month", labels={"team": "ml"}))
    assert recorded["name"] == "slo-service-churn-model-availability-sli-recordings"
    assert alerting["name"] == "slo-service-churn-model-availability-alerts"
    windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert [rule["record"] for rule in recorded["rules"]] == [
        *(f"slo:sli_error:ratio_rate{w}" for w in windows),
        *(f"slo:sli_events:count{w}" for w in ["5m", "30m", "2h", "6h"]),  # the short windows
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
    ]
    by_name = {rule["record"]: rule for rule in recorded["rules"]}
    assert by_name["slo:sli_events:count30m"]["expr"] == (
        'sum(increase(ml_predictions_total{model_name="churn-model"}[30m]))'
    )
    assert [rule["expr"] for rule in recorded["rules"][-3:]] == [
        "vector(0.999)",
        "vector(0.001)",
        "vector(30)",
    ]
    identity = {"slo_id": "7", "slo_service": "churn-model", "slo_name": "availability"}
    assert recorded["rules"][0]["labels"] == {**identity, "slo_window": "5m", "team": "ml"}
    assert by_name["slo:sli_events:count2h"]["labels"] == {
        **identity, "slo_window": "2h", "team": "ml"
    }  # fmt: skip
    assert recorded["rules"][-1]["labels"] == {**identity, "team": "ml"}


def test_a_7d_slo_records_its_scaled_windows() -> None:
    found = records(make_slo(window="7d"))
    ratios = [r.removeprefix("slo:sli_error:ratio_rate") for r in found if "ratio_rate" in r]
    assert ratios == [
        "1m", "5m", "7m", "14m", "28m", "30m", "1h", "84m", "2h", "336m", "6h", "1008m", "1d",
        "3d", "7d",
    ]  # fmt: skip
    counts = [r.removeprefix("slo:sli_events:count") for r in found if "events" in r]
    assert counts == ["1m", "7m", "28m", "84m"]


def test_disabled_alerting_has_recordings_only() -> None:
    slo = make_slo(window="7d", alerting={"enabled": False})
    (recorded,) = groups_of(slo)
    assert recorded["name"] == "slo-service-churn-model-availability-sli-recordings"
    # No tier, so neither the tiers' windows nor the guard's counts: the fixed windows only.
    assert records(slo) == [
        *(f"slo:sli_error:ratio_rate{w}" for w in ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]),
        "slo:sli_error:ratio_rate7d",
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
    ]


def test_configured_tiers_keep_their_windows() -> None:
    tiers = [
        {"severity": "page", "long_window": "2h", "short_window": "10m", "budget_spent": 0.05},
        {"severity": "page", "long_window": "30m", "short_window": "3m", "factor": 20},
    ]
    slo = make_slo(window="7d", alerting={"tiers": tiers})
    alerts = burn_alerts(slo)
    assert list(alerts) == ["page"]  # no ticket tier, no ticket rule
    # 5% of 7 days in 2 hours: 0.05 x 84
    assert tiers_in(alerts["page"]["expr"]) == [("2h", "10m", "4.2"), ("30m", "3m", "20")]
    assert {"slo:sli_error:ratio_rate10m", "slo:sli_events:count3m"} <= set(records(slo))


def test_a_tier_s_hold_is_the_rule_s_for() -> None:
    """One hold for the severity's tiers: the rule's ``for``. Two holds: a rule per hold, with
    a ``hold`` label so that their alerts are different series."""
    tiers = [
        {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 14.4,
         "hold": "5m"},
        {"severity": "ticket", "long_window": "1d", "short_window": "2h", "factor": 3,
         "hold": "30m"},
        {"severity": "ticket", "long_window": "3d", "short_window": "6h", "factor": 1},
    ]  # fmt: skip
    alerts = [
        a for a in alerts_of(make_slo(alerting={"tiers": tiers})) if a["alert"] != "SLONoData"
    ]
    shown = [
        (a["labels"]["severity"], a.get("for"), a["labels"].get("hold"), tiers_in(a["expr"]))
        for a in alerts
    ]
    assert shown == [
        ("page", "5m", None, [("1h", "5m", "14.4")]),
        ("ticket", None, "0m", [("3d", "6h", "1")]),
        ("ticket", "30m", "30m", [("1d", "2h", "3")]),
    ]
    assert list(alerts[0])[:3] == ["alert", "expr", "for"]
    assert "for" not in burn_alerts(make_slo())["page"]  # the defaults hold for no time


@pytest.mark.parametrize(
    ("spec", "total"),
    [
        ({}, 'ml_predictions_total{model_name="churn-model"}'),
        (
            {"sli": {"bad": 'req_total{code=~"5.."}', "total": 'req_total{job="api"}'}},
            'req_total{job="api"}',
        ),
        (
            {"kind": "latency", "objective": 0.99, "params": {"threshold_ms": 500}},
            'ml_prediction_duration_seconds_count{model_name="churn-model"}',
        ),
    ],
    ids=["availability", "ratio", "latency"],
)
def test_occurrence_slis_need_min_events_in_the_short_window(
    spec: dict[str, Any], total: str
) -> None:
    slo = make_slo(**spec)
    for alert in burn_alerts(slo).values():
        assert alert["expr"].count(">= 10)") == 2  # one per tier
    counts = {r["record"]: r["expr"] for r in groups_of(slo)[0]["rules"] if "events" in r["record"]}
    assert counts == {f"slo:sli_events:count{w}": f"sum(increase({total}[{w}]))"
                      for w in ["5m", "30m", "2h", "6h"]}  # fmt: skip
    stricter = burn_alerts(make_slo(**spec, alerting={"min_events": 250}))
    assert stricter["page"]["expr"].count(">= 250)") == 2
    assert "at least 250 events" in stricter["page"]["annotations"]["description"]


@pytest.mark.parametrize(
    "slo",
    [
        make_slo(kind="accuracy", params={"baseline": 0.9}),
        make_slo(alerting={"min_events": 0}),
    ],
    ids=["timeslices", "min_events-0"],
)
def test_no_guard_for_timeslices_nor_with_min_events_0(slo: SLO) -> None:
    alerts = burn_alerts(slo)
    assert [len(tiers_in(a["expr"])) for a in alerts.values()] == [2, 2]
    for alert in alerts.values():
        assert "slo:sli_events" not in alert["expr"]
        assert "events" not in alert["annotations"]["description"]
    assert not [r for r in records(slo) if "events" in r]


@pytest.mark.parametrize(
    ("spec", "expr"),
    [
        ({}, 'absent_over_time(ml_predictions_total{model_name="churn-model"}[30m])'),
        (
            {"kind": "latency", "objective": 0.99, "params": {"threshold_ms": 500}},
            'absent_over_time(ml_prediction_duration_seconds_count{model_name="churn-model"}[30m])',
        ),
        (
            {"kind": "accuracy", "params": {"baseline": 0.9}},
            'absent_over_time((min(ml_model_accuracy{model_name="churn-model"}))[30m:1m])',
        ),
        (
            {"alerting": {"no_data_for": "2h"}},
            'absent_over_time(ml_predictions_total{model_name="churn-model"}[2h])',
        ),
    ],
    ids=["ratio", "latency", "threshold", "2h"],
)
def test_a_no_data_ticket_watches_the_total(spec: dict[str, Any], expr: str) -> None:
    slo = make_slo(3, labels={"team": "ml", "note": "{{ not a template }}"}, **spec)
    (alert,) = no_data_alerts(slo)
    assert alert["expr"] == expr
    assert alert["labels"] == {
        "severity": "ticket",
        "slo_id": "3",
        "slo_service": "churn-model",
        "slo_name": slo.name,
        "note": '{{ "{{" }} not a template }}',  # as is, not expanded by Prometheus
        "team": "ml",
    }
    length = spec.get("alerting", {}).get("no_data_for", "30m")
    assert alert["annotations"]["summary"] == f"churn-model {slo.name}: no data for {length}"
    assert f"for the last {length}" in alert["annotations"]["description"]
    assert alert["annotations"]["slo_url"] == "http://127.0.0.1:8000/slos/3"
    assert "for" not in alert


def test_no_no_data_ticket_when_never_or_disabled() -> None:
    assert no_data_alerts(make_slo(alerting={"no_data_for": "never"})) == []
    assert alerts_of(make_slo(alerting={"enabled": False})) == []
    assert [a["alert"] for a in alerts_of(make_slo())] == [
        "SLOBurnRate", "SLOBurnRate", "SLONoData"
    ]  # fmt: skip


def test_the_service_policy_gives_min_events_and_no_data_for_unless_the_slo_does() -> None:
    policy = {"min_events": 0, "no_data_for": "never"}
    inheriting = make_slo()
    assert no_data_alerts(inheriting, policy) == []
    assert not [a for a in alerts_of(inheriting, policy) if "slo:sli_events" in a["expr"]]
    own = make_slo(alerting={"min_events": 5, "no_data_for": "1h"})
    (alert,) = no_data_alerts(own, policy)
    assert alert["expr"].endswith("[1h])")
    assert all(">= 5)" in a["expr"] for a in alerts_of(own, policy) if a["alert"] != "SLONoData")
    result = build.export([inheriting], base_url=BASE_URL, service_alerting={"churn-model": policy})
    assert [r["alert"] for r in result.groups["churn-model"][1]["rules"]] == ["SLOBurnRate"] * 2


def test_drift_and_pushed_slos_are_skipped_with_the_reason() -> None:
    drift = make_slo(1, name="feature-drift", kind="drift", objective=0.95)
    pushed = make_slo(2, name="pushed", kind="custom", sli={"source": "push"})
    result = build.export([drift, pushed, make_slo(3)], base_url=BASE_URL)
    assert result.skipped == [
        build.Skipped("churn-model", "feature-drift", "measured from the drift store, not from "
                      "Prometheus"),
        build.Skipped("churn-model", "pushed", "pushed to POST /api/v1/events, not in Prometheus"),
    ]  # fmt: skip
    assert [group["name"] for group in result.groups["churn-model"]] == [
        "slo-service-churn-model-availability-sli-recordings",
        "slo-service-churn-model-availability-alerts",
    ]


def test_slo_labels_become_prometheus_labels_without_overriding_the_rules_own() -> None:
    labels = {"team": "ml", "cost.center": "42", "severity": "low", "runbook_url": "https://w/r"}
    slo = make_slo(labels=labels, description="Uses {{ templates }} in text")
    (recorded, alerting) = groups_of(slo)
    assert recorded["rules"][-1]["labels"] == {
        "slo_id": "1",
        "slo_service": "churn-model",
        "slo_name": "availability",
        "cost_center": "42",
        "team": "ml",
    }
    page, _, no_data = alerting["rules"]
    assert page["labels"]["severity"] == "page"
    assert no_data["labels"]["severity"] == "ticket"
    for alert in (page, no_data):
        assert alert["annotations"]["runbook_url"] == "https://w/r"
    assert page["annotations"]["description"].endswith('Uses {{ "{{" }} templates }} in text')


# --- the real promtool ---


def every_kind() -> list[SLO]:
    """SLOs of every kind, with odd labels, a described SLO, custom tiers, no alerting."""
    tier = {"severity": "ticket", "long_window": "12h", "short_window": "1h", "budget_spent": 0.1}
    return [
        make_slo(1, labels={"team.name": "ml", "runbook_url": "https://w/{{x}}"}),
        make_slo(2, name="latency", kind="latency", params={"threshold_ms": 1000}, window="7d"),
        make_slo(3, name="accuracy", kind="accuracy", params={"baseline": 0.9}, window="week"),
        make_slo(4, name="fresh", kind="data_freshness", window="month", description="{{ $x"),
        make_slo(5, name="model", kind="model_freshness", alerting={"tiers": [tier]}),
        make_slo(6, name="quiet", alerting={"enabled": False}),
        make_slo(7, name="drift", kind="drift", objective=0.95),
        make_slo(8, service="fraud-model", sli={"bad": 'p_total{status="error"}'}),
        make_slo(9, name="odd", labels={"x": "{{ $value }}"}, alerting={"min_events": 0}),
        make_slo(10, name="held", alerting={"tiers": [{**tier, "hold": "2m"}, tier]}),
    ]


def test_promtool_accepts_the_rules_of_every_kind(tmp_path: Path) -> None:
    result = build.export(every_kind(), base_url=BASE_URL)
    for service, groups in result.groups.items():
        path = tmp_path / f"{service}.rules.yml"
        path.write_text(rule_files.render(service, groups))
        checked = run("promtool", "check", "rules", "--lint-fatal", path)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(result.groups) == ["churn-model", "fraud-model"]


def test_promtool_accepts_the_committed_rules_and_rejects_a_broken_file(tmp_path: Path) -> None:
    files = sorted(ALERTING.glob("*.rules.yml"))
    assert [f.name for f in files] == ["churn-model.rules.yml", "fraud-model.rules.yml"]
    checked = run("promtool", "check", "rules", "--lint-fatal", *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Per model: availability (30d) 15 recordings and 3 alerts; latency (7d) 22 and 3; three
    # timeslice SLOs (7d) 18 recordings (no event counts) and 3 alerts each.
    assert checked.stdout.count("SUCCESS: 106 rules found") == 2
    broken = tmp_path / "broken.rules.yml"
    broken.write_text(files[0].read_text().replace("sum(rate(", "sum(rate((", 1))
    refused = run("promtool", "check", "rules", broken)
    assert refused.returncode != 0
    assert "FAILED" in refused.stdout + refused.stderr


Phases = Sequence[tuple[int, float]]  # (minutes, events a minute), one after the other


def counter(phases: Phases, *, every: int) -> str:
    """promtool's expanding notation of a counter sampled every ``every`` seconds that grows
    ``step`` a minute for ``minutes`` minutes, phase after phase, from 0."""
    parts, value = ["0"], 0.0
    for minutes, step in phases:
        assert (minutes * 60) % every == 0, "phases last whole samples"
        samples, increase = minutes * 60 // every, step * every / 60
        parts.append(f"{number(value + increase)}+{number(increase)}x{samples - 1}")
        value += increase * samples
    return " ".join(parts)


def number(value: float) -> str:
    return f"{value:.12g}"


PREDICTIONS = 'ml_predictions_total{model_name="churn-model",status="%s"}'
DURATIONS = 'ml_prediction_duration_seconds_%s{model_name="churn-model"%s}'


def traffic(kind: str, requests: Phases, errors: Phases, *, every: int) -> dict[str, str]:
    """Input series of ``requests`` and ``errors`` a minute, phase by phase, as the SLI of
    ``kind`` reads them: predictions by status, or a latency histogram (an error is slow)."""
    assert [m for m, _ in requests] == [m for m, _ in errors]
    ok = [(m, r - e) for (m, r), (_, e) in zip(requests, errors, strict=True)]
    if kind == "availability":
        return {
            PREDICTIONS % "ok": counter(ok, every=every),
            PREDICTIONS % "error": counter(errors, every=every),
        }
    assert kind == "latency"
    return {
        DURATIONS % ("bucket", ',le="0.5"'): counter(ok, every=every),
        DURATIONS % ("count", ""): counter(requests, every=every),
    }


def expect(
    slo: SLO, alertname: str, severities: list[str], *, source: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The alerts promtool should see of ``alertname`` and ``severities``: the rule's labels,
    with the recordings' (burn) or those ``absent_over_time`` keeps of the ``source``."""
    found = []
    for alert in alerts_of(slo):
        if alert["alert"] != alertname or alert["labels"]["severity"] not in severities:
            continue
        carried = {"slo_id": str(slo.id), **common.own_labels(slo)} if source is None else source
        labels = {**carried, **alert["labels"]}
        found.append({"exp_labels": labels, "exp_annotations": alert["annotations"]})
    assert len(found) == len(severities), "an expected alert has no rule"
    return found


def check(minute: int, alertname: str, expected: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": f"{minute}m", "alertname": alertname, "exp_alerts": expected}


def promtool_test(
    tmp_path: Path, slo: SLO, *, series: dict[str, str], every: int, evaluation: str,
    checks: list[dict[str, Any]],
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """``promtool test rules`` of the SLO's exported rules, on ``series`` sampled every
    ``every`` seconds, with the rules evaluated every ``evaluation``."""
    groups = groups_of(slo)
    (tmp_path / "slo.rules.yml").write_text(rule_files.render(slo.service, groups))
    test = {
        "rule_files": ["slo.rules.yml"],
        "evaluation_interval": evaluation,
        # Recordings first at each mark (promtool's order is random otherwise): an alert that
        # read the recordings of the mark before would find them old, past the lookback.
        "group_eval_order": [group["name"] for group in groups],
        "tests": [
            {
                "interval": f"{every}s",
                "input_series": [{"series": s, "values": v} for s, v in series.items()],
                "alert_rule_test": checks,
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(test, sort_keys=False, width=1000))
    return run("promtool", "test", "rules", tmp_path / "test.yml")


def passes(result: subprocess.CompletedProcess[str]) -> bool:
    """Whether promtool saw what the checks expect; an error (a rule that does not evaluate,
    a test file it cannot read) fails the test, so that a check meant to fail cannot pass on
    one."""
    output = result.stdout + result.stderr
    if result.returncode == 0:
        assert "SUCCESS" in result.stdout, output
        return True
    assert "FAILED" in output, output
    assert "got:" in output, output  # an expectation, not met
    assert "err:" not in output, output  # and no rule that does not evaluate
    return False


# Errors a minute, of 1000 predictions a minute, after three quiet days that fill every window
# of a 30d SLO; scraped every 2 minutes, the rules evaluated every 10 (the checks are on those
# marks). An incident for each tier in turn (burn rate = error ratio / 0.001):
#   +60m    40m at 3%:   1h over 14.4x from +89m: page 1h/5m (6h at most 5.6x)
#   +300m  260m at 1%:   6h over 6x from +517m: page 6h/30m (1h at most 10x)
#   +700m  400m at 0.2%: 3d over 1x from +961m: ticket 3d/6h (2h at most 2x, under 3x)
#   +1100m 200m at 0.5%: 1d and 2h over 3x from +1141m: both tickets (6h under 6x)
QUIET = 3 * 1440
ERRORS = [(QUIET + 60, 0), (40, 30), (200, 0), (260, 10), (140, 0), (400, 2), (200, 5), (500, 0)]
EXPECTED = [  # minutes after the quiet days, the severities firing then
    (50, []),  # none before
    (100, ["page"]),  # 1h/5m
    (110, []),  # 5m window clean: resolved
    (550, ["page"]),  # 6h/30m
    (600, []),  # 30m window clean: resolved
    (1090, ["ticket"]),  # 3d/6h
    (1290, ["ticket"]),  # 1d/2h and 3d/6h: one alert
    (1400, ["ticket"]),  # 2h window clean: 1d/2h resolved, 3d/6h holds
    (1700, []),  # 6h window clean: 3d/6h resolved
]


def test_promtool_each_tier_fires_its_severity_and_resolves(tmp_path: Path) -> None:
    slo = make_slo(labels={"team": "ml"})
    requests = [(minutes, 1000) for minutes, _ in ERRORS]
    checks = [
        check(QUIET + minutes, "SLOBurnRate", expect(slo, "SLOBurnRate", firing) if firing else [])
        for minutes, firing in EXPECTED
    ]
    series = traffic("availability", requests, ERRORS, every=120)
    found = promtool_test(tmp_path, slo, series=series, every=120, evaluation="10m", checks=checks)
    assert passes(found)
    # The same checks fail on an incident-free history: they see what fires.
    calm = traffic("availability", requests, [(m, 0) for m, _ in ERRORS], every=120)
    assert not passes(
        promtool_test(tmp_path, slo, series=calm, every=120, evaluation="10m", checks=checks)
    )


def test_a_unit_test_expecting_the_wrong_severity_fails(tmp_path: Path) -> None:
    """promtool says so when the ticket is expected where only the page fires."""
    slo = make_slo()
    day = 1440
    series = traffic("availability", [(day, 1000), (10, 1000)], [(day, 0), (10, 100)], every=60)
    # 10 minutes at 10% errors after a clean day: 1.7% over 1h passes the page's 1.44%; 0.07%
    # over 1d and 3d (the day and 10 minutes there are) stay under the tickets' 0.3% and 0.1%.
    at = day + 10
    right = [check(at, "SLOBurnRate", expect(slo, "SLOBurnRate", ["page"]))]
    wrong = [check(at, "SLOBurnRate", expect(slo, "SLOBurnRate", ["ticket"]))]
    for checks, expected in [(right, True), (wrong, False)]:
        found = promtool_test(tmp_path, slo, series=series, every=60, evaluation="5m",
                              checks=checks)  # fmt: skip
        assert passes(found) is expected


@pytest.mark.parametrize(("burn", "firing"), [(0.9, []), (1.1, ["ticket"])])
def test_promtool_a_7d_slo_under_budget_for_three_days_fires_nothing(
    tmp_path: Path, burn: float, firing: list[str]
) -> None:
    """A burn rate under 1 spends less than the budget: nothing fires in three days of it,
    whose windows cover every tier's (scraped every 30s: two samples in the 1m window). Just
    over 1, the slowest ticket tier fires, and the same expectation of silence fails."""
    slo = make_slo(window="7d")
    days = 3 * 1440
    series = traffic("availability", [(days, 20_000)], [(days, 20 * burn)], every=30)
    silence = [check(m, name, []) for m in range(10, days + 1, 10)
               for name in ("SLOBurnRate", "SLONoData")]  # fmt: skip
    quiet = promtool_test(tmp_path, slo, series=series, every=30, evaluation="10m", checks=silence)
    assert passes(quiet) is not bool(firing)
    at_the_end = [check(days, "SLOBurnRate", expect(slo, "SLOBurnRate", firing) if firing else [])]
    found = promtool_test(tmp_path, slo, series=series, every=30, evaluation="10m",
                          checks=at_the_end)  # fmt: skip
    assert passes(found)


@pytest.mark.parametrize(
    ("window", "after_5m"),
    [("30d", []), ("7d", ["page"])],  # a 7d SLO's page tier (14m/1m) is faster
)
def test_promtool_a_burn_of_10_percent_pages_and_tickets(
    tmp_path: Path, window: str, after_5m: list[str]
) -> None:
    """10% errors against 99.9% burn at 100x: the page fires; so does the ticket, in
    Prometheus (Alertmanager holds it back while the page fires: its inhibit rule)."""
    slo = make_slo(window=window)
    day = 1440
    series = traffic("availability", [(day, 1000), (60, 1000)], [(day, 0), (60, 100)], every=30)
    page_and_ticket = expect(slo, "SLOBurnRate", ["page", "ticket"])
    checks = [
        check(day - 10, "SLOBurnRate", []),
        check(day + 5, "SLOBurnRate", expect(slo, "SLOBurnRate", after_5m) if after_5m else []),
        check(day + 30, "SLOBurnRate", page_and_ticket),
        check(day + 60, "SLOBurnRate", page_and_ticket),
    ]
    found = promtool_test(tmp_path, slo, series=series, every=30, evaluation="5m", checks=checks)
    assert passes(found)
    page_only = [*checks[:2], check(day + 30, "SLOBurnRate", page_and_ticket[:1])]
    found = promtool_test(tmp_path, slo, series=series, every=30, evaluation="5m",
                          checks=page_only)  # fmt: skip
    assert not passes(found)


LATENCY: dict[str, Any] = {
    "name": "latency",
    "kind": "latency",
    "objective": 0.99,
    "params": {"threshold_ms": 500},
}


@pytest.mark.parametrize("kind", ["availability", "latency"])
def test_promtool_a_few_failed_requests_on_a_quiet_model_page_nobody(
    tmp_path: Path, kind: str
) -> None:
    """3 requests in a minute, 2 of them failed, and nothing else for hours: the error ratio
    is 67% in every window, but no short window holds min_events (10) events. The same ratio
    at 100 times the traffic pages (and tickets), and so does the quiet model without a guard."""
    spec = LATENCY if kind == "latency" else {}
    idle, burst, after = 120, 1, 240

    def series(requests: float) -> dict[str, str]:
        phases = [(idle, 0.0), (burst, requests), (after, 0.0)]
        return traffic(kind, phases, [(m, r * 2 / 3) for m, r in phases], every=30)

    def run_with(slo: SLO, requests: float, firing: list[str]) -> bool:
        expected = expect(slo, "SLOBurnRate", firing) if firing else []
        checks = [check(idle + minutes, "SLOBurnRate", expected) for minutes in (2, 3)]
        if not firing:  # and at no time after
            checks += [check(idle + m, "SLOBurnRate", []) for m in range(4, after, 1)]
        return passes(promtool_test(tmp_path, slo, series=series(requests), every=30,
                                    evaluation="1m", checks=checks))  # fmt: skip

    guarded, unguarded = make_slo(**spec), make_slo(**spec, alerting={"min_events": 0})
    assert run_with(guarded, 3, [])
    assert run_with(guarded, 300, ["page", "ticket"])
    assert run_with(unguarded, 3, ["page", "ticket"])
    assert not run_with(guarded, 300, [])  # the check of silence sees a page


NO_DATA_SOURCES: dict[str, tuple[dict[str, Any], dict[str, str], dict[str, str]]] = {
    "availability": (
        {},
        {PREDICTIONS % "ok": "ok", PREDICTIONS % "error": "error"},
        {"model_name": "churn-model"},
    ),
    "latency": (
        LATENCY,
        {DURATIONS % ("bucket", ',le="0.5"'): "ok", DURATIONS % ("count", ""): "all"},
        {"model_name": "churn-model"},
    ),
    "accuracy": (
        # promtool's engine loads at most 10000 samples a query: a 6d window's [6d:1m] fits
        {"name": "accuracy", "kind": "accuracy", "params": {"baseline": 0.9}, "window": "6d"},
        {'ml_model_accuracy{model_name="churn-model"}': "gauge"},
        {},  # the query's value has no labels, nor has its absence
    ),
}
GAP_VALUES = {  # 1-minute samples, no error: two hours, two hours without, an hour again
    "ok": "0+100x120 _x120 12100+100x60",
    "error": "0x120 _x120 0x60",
    "all": "0+100x120 _x120 12100+100x60",
    "gauge": "0.95x120 _x120 0.95x60",
}


@pytest.mark.parametrize("kind", list(NO_DATA_SOURCES))
def test_promtool_no_data_for_30m_raises_the_no_data_ticket_until_data_returns(
    tmp_path: Path, kind: str
) -> None:
    """The source's series stop after 120m and come back at 241m. The ticket fires once
    nothing came for 30m (the query of a timeslice SLO keeps its last value through
    Prometheus's 5m lookback first), and resolves with the first sample back."""
    spec, sources, kept = NO_DATA_SOURCES[kind]
    slo = make_slo(**spec)
    series = {name: GAP_VALUES[values] for name, values in sources.items()}
    no_data = expect(slo, "SLONoData", ["ticket"], source=kept)
    timeline = [(145, []), (165, no_data), (235, no_data), (250, [])]
    checks = [check(minute, "SLONoData", expected) for minute, expected in timeline]
    checks += [check(minute, "SLOBurnRate", []) for minute, _ in timeline]
    found = promtool_test(tmp_path, slo, series=series, every=60, evaluation="5m", checks=checks)
    assert passes(found)
    silent = [check(165, "SLONoData", [])]
    found = promtool_test(tmp_path, slo, series=series, every=60, evaluation="5m", checks=silent)
    assert not passes(found)
    never = make_slo(**spec, alerting={"no_data_for": "never"})
    found = promtool_test(tmp_path, never, series=series, every=60, evaluation="5m",
                          checks=silent)  # fmt: skip
    assert passes(found)


# --- the real amtool and Alertmanager ---


def test_amtool_accepts_the_alertmanager_config_and_routes_by_severity(tmp_path: Path) -> None:
    config = ALERTING / "alertmanager.yml"
    checked = run("amtool", "check-config", config)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout
    routes = [
        ("SLOBurnRate", "page", "pagerduty-pages"),
        ("SLOBurnRate", "ticket", "slack-tickets"),
        ("SLONoData", "ticket", "slack-tickets"),
        ("SLONoData", "page", "slack-tickets"),  # no data never pages
    ]
    for alertname, severity, receiver in routes:
        labels = [f"alertname={alertname}", f"severity={severity}", "slo_service=churn-model",
                  "slo_name=availability"]  # fmt: skip
        routed = run(
            "amtool", "config", "routes", "test", f"--config.file={config}",
            f"--verify.receivers={receiver}", *labels,
        )  # fmt: skip
        assert routed.returncode == 0, routed.stdout + routed.stderr
    broken = tmp_path / "alertmanager.yml"
    broken.write_text(config.read_text().replace("routing_key_file:", "routing_key_path:"))
    refused = run("amtool", "check-config", broken)
    assert refused.returncode != 0
    assert "routing_key_path not found" in refused.stdout + refused.stderr


def render_templates(tmp_path: Path, alert: dict[str, Any]) -> dict[str, str]:
    """The receivers' templates rendered by amtool for a notification of one generated alert."""
    labels = {"alertname": alert["alert"], **alert["labels"], "slo_id": "1"}
    one = {"status": "firing", "labels": labels, "annotations": alert["annotations"]}
    data = {
        "status": "firing", "alerts": [one], "groupLabels": {}, "commonLabels": labels,
        "commonAnnotations": alert["annotations"], "externalURL": "http://alertmanager",
    }  # fmt: skip
    (tmp_path / "data.json").write_text(json.dumps(data))
    (tmp_path / "none.tmpl").write_text("")
    config = yaml.safe_load((ALERTING / "alertmanager.yml").read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    (pagerduty,) = receivers["pagerduty-pages"]["pagerduty_configs"]
    (slack,) = receivers["slack-tickets"]["slack_configs"]
    texts = {
        "pd.description": pagerduty["description"],
        "pd.link": pagerduty["links"][0]["href"],
        **{f"pd.details.{key}": text for key, text in pagerduty["details"].items()},
        **{f"slack.{key}": slack[key] for key in ("title", "title_link", "text")},
    }
    rendered = {}
    for key, text in texts.items():
        result = run(
            "amtool", "template", "render", f"--template.glob={tmp_path / '*.tmpl'}",
            f"--template.data={tmp_path / 'data.json'}", f"--template.text={text}",
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        rendered[key] = result.stdout
    return rendered


def test_alertmanager_templates_render_the_generated_alerts(tmp_path: Path) -> None:
    page, _, no_data = alerts_of(make_slo())
    rendered = render_templates(tmp_path, page)
    assert rendered["pd.description"] == page["annotations"]["summary"]
    assert rendered["pd.link"] == "http://127.0.0.1:8000/slos/1"
    assert rendered["pd.details.slo"] == "availability"
    assert rendered["pd.details.tiers"] == "14.4x over 1h and 5m, or 6x over 6h and 30m"
    assert rendered["slack.title"] == "[FIRING] churn-model availability: error budget burning"
    assert page["annotations"]["description"] in rendered["slack.text"]
    rendered = render_templates(tmp_path, no_data)
    assert rendered["slack.title"] == "[FIRING] churn-model availability: no data"
    assert rendered["slack.title_link"] == "http://127.0.0.1:8000/slos/1"
    assert no_data["annotations"]["description"] in rendered["slack.text"]


def loopback_config(config: dict[str, Any], secrets: Path, closed_url: str) -> dict[str, Any]:
    """The committed config with its secret files in ``secrets``, and PagerDuty and Slack at a
    loopback address where nothing listens: nothing leaves the machine."""
    (secrets / "pagerduty-routing-key").write_text("dummy-routing-key\n")
    (secrets / "slack-webhook-url").write_text(f"{closed_url}/slack\n")
    receivers = {r["name"]: r for r in config["receivers"]}
    (pagerduty,) = receivers["pagerduty-pages"]["pagerduty_configs"]
    pagerduty["routing_key_file"] = str(secrets / "pagerduty-routing-key")
    pagerduty["url"] = f"{closed_url}/pagerduty"
    (slack,) = receivers["slack-tickets"]["slack_configs"]
    slack["api_url_file"] = str(secrets / "slack-webhook-url")
    return config


@contextmanager
def alertmanager(workdir: Path, config: dict[str, Any]) -> Iterator[str]:
    """Debian's Alertmanager on a free loopback port, clustering off; yields its URL."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "Alertmanager not found: apt-get install prometheus-alertmanager"
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    url = f"http://127.0.0.1:{free_port()}"
    log = (workdir / "alertmanager.log").open("w")
    process = subprocess.Popen(
        [binary, f"--config.file={workdir / 'alertmanager.yml'}",
         f"--storage.path={workdir / 'data'}", f"--web.listen-address={url[7:]}",
         "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until(lambda: ready(f"{url}/-/ready", process), what="Alertmanager ready")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def ready(url: str, process: subprocess.Popen[bytes]) -> bool:
    assert process.poll() is None, f"Alertmanager exited with {process.returncode}"
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def inhibition(tmp_path: Path, config: dict[str, Any], closed_url: str) -> dict[str, Any]:
    """Post a page, a burn ticket and a no-data ticket of one SLO and a burn ticket of another
    to a real Alertmanager with ``config``; the alerts it lists then, by name."""
    first, other = make_slo(1), make_slo(2, **LATENCY)
    page, ticket, no_data = alerts_of(first)
    _, other_ticket, _ = alerts_of(other)
    sent = {
        "page": (first, page), "ticket": (first, ticket), "no data": (first, no_data),
        "other ticket": (other, other_ticket),
    }  # fmt: skip
    posted = {
        name: {"labels": {"alertname": a["alert"], "slo_id": str(slo.id), **a["labels"]},
               "annotations": a["annotations"]}
        for name, (slo, a) in sent.items()
    }  # fmt: skip
    with alertmanager(tmp_path, loopback_config(config, tmp_path, closed_url)) as url:
        done = httpx.post(f"{url}/api/v2/alerts", json=list(posted.values()), timeout=10)
        assert done.status_code == 200, done.text

        def listed() -> dict[str, Any]:
            found = httpx.get(f"{url}/api/v2/alerts", timeout=10).json()
            return {name: next(a for a in found if a["labels"] == alert["labels"])
                    for name, alert in posted.items()}  # fmt: skip

        # The inhibitor learns of the page in the background: wait until it holds back.
        wait_until(lambda: listed()["ticket"]["status"]["state"] == "suppressed",
                   what="the inhibition")  # fmt: skip
        return listed()


def test_alertmanager_holds_back_the_ticket_of_an_slo_that_pages(
    tmp_path: Path, closed_port_url: str
) -> None:
    """The committed config in a real Alertmanager: a page of one SLO inhibits that SLO's burn
    ticket, not another SLO's ticket, nor its own no-data ticket."""
    config = yaml.safe_load((ALERTING / "alertmanager.yml").read_text())
    found = inhibition(tmp_path, config, closed_port_url)
    assert found["ticket"]["status"]["inhibitedBy"] == [found["page"]["fingerprint"]]
    for name in ("page", "no data", "other ticket"):
        assert found[name]["status"] == {
            "state": "active", "inhibitedBy": [], "silencedBy": []
        }, name  # fmt: skip


def test_the_alertmanager_check_sees_an_inhibit_rule_that_holds_back_too_much(
    tmp_path: Path, closed_port_url: str
) -> None:
    """The check above can fail: with the inhibit rule of old, which held back every ticket of
    a paging SLO, the no-data ticket is held back too."""
    config = yaml.safe_load((ALERTING / "alertmanager.yml").read_text())
    (rule,) = config["inhibit_rules"]
    rule["source_matchers"], rule["target_matchers"] = ['severity="page"'], ['severity="ticket"']
    found = inhibition(tmp_path, config, closed_port_url)
    assert found["no data"]["status"]["inhibitedBy"] == [found["page"]["fingerprint"]]
    assert found["other ticket"]["status"]["state"] == "active"


# --- the committed files and the CLI ---


def test_the_example_slos_are_the_compose_demos() -> None:
    """The rules Prometheus loads in docker-compose are those of the SLOs slo-service applies
    there: one file serves both."""
    compose = yaml.safe_load((ALERTING.parent / "docker-compose.yml").read_text())
    volumes = compose["services"]["slo-service"]["volumes"]
    assert "./alerting/example-slos.yaml:/deploy/slos.yaml:ro" in volumes
    assert "./alerting:/etc/prometheus/rules:ro" in compose["services"]["prometheus"]["volumes"]


def test_the_committed_rules_are_those_of_the_example_slos(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, closed_port_url: str
) -> None:
    """As alerting/README.md makes them: apply the examples to a new database, export."""
    monkeypatch.setenv("SLO_DATABASE_URL", f"sqlite:///{tmp_path / 'examples.db'}")
    monkeypatch.setenv("SLO_PROMETHEUS_URL", closed_port_url)
    monkeypatch.setenv("SLO_PUBLIC_BASE_URL", BASE_URL)
    for command in (["migrate"], ["apply", "-f", str(ALERTING / "example-slos.yaml")]):
        done = runner.invoke(app, command)
        assert done.exit_code == 0, done.output
    out = tmp_path / "alerting"
    exported = runner.invoke(rules_app, ["export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    made = {p.name: p.read_bytes() for p in out.glob("*.rules.yml")}
    committed = {p.name: p.read_bytes() for p in ALERTING.glob("*.rules.yml")}
    assert made == committed, "alerting/ is stale: regenerate it as alerting/README.md says"


@pytest.fixture
def cli_env(db: Engine, closed_port_url: str, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("SLO_DATABASE_URL", db.url.render_as_string(hide_password=False))
    monkeypatch.setenv("SLO_PROMETHEUS_URL", closed_port_url)
    monkeypatch.setenv("SLO_PUBLIC_BASE_URL", "https://slo.example.com")
    return db


def store(db: Engine, *specs: dict[str, Any]) -> list[SLO]:
    with session_scope(db) as session:
        return [
            slos.create(session, slos.prepare(SLOCreate.model_validate(s), NoQueryChecker()),
                        actor="tests")
            for s in specs
        ]  # fmt: skip


AVAILABILITY = {"name": "availability", "kind": "availability", "objective": 0.999}
DRIFT = {"name": "feature-drift", "kind": "drift", "objective": 0.95, "window": "7d"}


def test_rules_export_writes_a_file_per_service_and_removes_stale_ones(
    cli_env: Engine, tmp_path: Path
) -> None:
    churn, _, fraud = store(
        cli_env,
        {**AVAILABILITY, "service": "churn-model"},
        {**DRIFT, "service": "churn-model"},
        {**AVAILABILITY, "service": "fraud-model"},
    )
    out = tmp_path / "rules"
    out.mkdir()
    stale = out / "gone-model.rules.yml"
    stale.write_text(rule_files.render("gone-model", []))
    kept = out / "hand-written.rules.yml"
    kept.write_text("groups: []\n")
    result = runner.invoke(rules_app, ["export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"wrote {out}/churn-model.rules.yml: 18 rules in 2 groups",
        f"wrote {out}/fraud-model.rules.yml: 18 rules in 2 groups",
        "skipped churn-model:feature-drift: measured from the drift store, not from Prometheus",
        f"removed {stale}: its service has no SLO in Prometheus any more",
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        "churn-model.rules.yml",
        "fraud-model.rules.yml",
        "hand-written.rules.yml",
    ]
    written = (out / "churn-model.rules.yml").read_text()
    assert written == rule_files.render(
        "churn-model", build.export([churn], base_url="https://slo.example.com/").groups[
            "churn-model"]
    )  # fmt: skip
    assert f"slo_url: https://slo.example.com/slos/{churn.id}" in written
    assert run("promtool", "check", "rules", *sorted(out.glob("*model.rules.yml"))).returncode == 0

    with session_scope(cli_env) as session:
        row = session.get(SLO, fraud.id)
        assert row is not None
        slos.delete(session, row, actor="tests")
    one = runner.invoke(rules_app, ["export", "--out", str(out), "--service", "fraud-model"])
    assert one.exit_code == 0, one.output
    assert one.output == f"removed {out}/fraud-model.rules.yml: its service has no SLO in " \
        "Prometheus any more\n"  # fmt: skip
    assert (out / "churn-model.rules.yml").read_text() == written


def test_rules_export_leaves_a_hand_written_file_alone(cli_env: Engine, tmp_path: Path) -> None:
    store(cli_env, {**AVAILABILITY, "service": "churn-model"})
    (tmp_path / "churn-model.rules.yml").write_text("groups: []\n")
    result = runner.invoke(rules_app, ["export", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "was not written by slo-service rules export" in result.output
    assert (tmp_path / "churn-model.rules.yml").read_text() == "groups: []\n"


def test_rules_export_reads_the_service_policys_alerting(cli_env: Engine, tmp_path: Path) -> None:
    """min_events and no_data_for of the service policy hold for its SLOs that set none."""
    (churn,) = store(cli_env, {**AVAILABILITY, "service": "churn-model"})
    with session_scope(cli_env) as session:
        policy_repo.save(
            session,
            ServicePolicy(
                service="churn-model", gate={}, alerting={"min_events": 0, "no_data_for": "never"},
                exempt_change_types=[], updated_at=datetime.now(UTC), updated_by="tests",
            ),
        )  # fmt: skip
    result = runner.invoke(rules_app, ["export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "churn-model.rules.yml").read_text()
    policy = {"min_events": 0, "no_data_for": "never"}
    assert written == rule_files.render(
        "churn-model", build.export([churn], base_url="https://slo.example.com/",
                                    service_alerting={"churn-model": policy}).groups["churn-model"]
    )  # fmt: skip
    assert "SLONoData" not in written
    assert "slo:sli_events" not in written
