"""The SLO gauges of ``/metrics`` are written by hand (``services.exposition``): byte for byte
what prometheus_client wrote before, on both backends, from real evaluations and from rows
no API would accept (label values that need escaping, odd numbers); and a summary whose
fields do not match ``domain.summary`` fails the render instead of losing gauges."""

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.config import Settings
from slo_service.db import session_scope
from slo_service.domain.blocks import Layout
from slo_service.domain.summary import Summary
from slo_service.models import SLO, GateFreeze
from slo_service.repositories import alerts as alert_repo
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo
from slo_service.services import exposition, metrics
from slo_service.services.evaluation import due_until
from tests.api.test_gate import HEALTHY, LOW, SPENT, model

Headers = dict[str, str]
NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)

# What prometheus_client wrote: the SLO families, their HELP texts and labels (a contract).
_GAUGES: tuple[tuple[str, str, list[str]], ...] = (
    ("objective", "The SLO's objective, e.g. 0.999.", []),
    ("sli", "The SLI over the SLO's window at its last evaluation.", []),
    ("error_budget_remaining", "Fraction of the error budget left; negative when overspent.", []),
    ("burn_rate", "Burn rate over a window (5m ... 3d, and the SLO's whole window).", ["window"]),
    (
        "alert_firing",
        "1 while a burn-rate tier fires, by severity and its effective long and short windows "
        "(scaled to the SLO's window).",
        ["severity", "long_window", "short_window"],
    ),
    ("evaluated_timestamp_seconds", "When the SLO was last evaluated successfully.", []),
)


class Reference(Collector):
    """The SLO gauges as prometheus_client rendered them (whole SLO objects, each summary
    validated as ``Summary``): what the hand-written text must equal."""

    def __init__(self, engine: Engine, layout: Layout) -> None:
        self.engine, self.layout = engine, layout

    def collect(self) -> Iterator[Metric]:
        with Session(self.engine) as session:
            slos = slo_repo.live(session)
            frozen = policy_repo.active_freezes_of(session, sorted({s.service for s in slos}))
            due = slo_repo.count_due(session, due=due_until(NOW, self.layout), now=NOW)
            pending = alert_repo.backlog(session)
        gauges = {
            name: GaugeMetricFamily(f"slo_{name}", text, labels=["service", "slo", "kind", *extra])
            for name, text, extra in _GAUGES
        }
        for slo in slos:
            labels = [slo.service, slo.name, slo.kind]
            gauges["objective"].add_metric(labels, slo.objective)
            summary = Summary.of(slo.summary)
            if summary is None:
                continue
            for name, value in (
                ("sli", summary.sli),
                ("error_budget_remaining", summary.remaining),
            ):
                if value is not None:
                    gauges[name].add_metric(labels, value)
            for window, rate in summary.burn_rates.items():
                if rate is not None:
                    gauges["burn_rate"].add_metric([*labels, window], rate)
            for tier in summary.tiers:
                tier_key = [tier.severity, tier.long_window, tier.short_window]
                gauges["alert_firing"].add_metric([*labels, *tier_key], float(tier.firing))
            at = summary.evaluated_at.timestamp()
            gauges["evaluated_timestamp_seconds"].add_metric(labels, at)
        yield from gauges.values()
        services = GaugeMetricFamily(
            "slo_service_frozen",
            "1 while deploys of the service are frozen, by cause (budget or manual).",
            labels=["service", "cause"],
        )
        for service in sorted({s.service for s in slos}):
            causes = {f.cause for f in frozen.get(service, [])}
            for cause in ("budget", "manual"):
                services.add_metric([service, cause], float(cause in causes))
        yield services
        yield GaugeMetricFamily(
            "slo_service_evaluations_due",
            "SLOs due for evaluation and not leased by any replica (the evaluation backlog).",
            value=due,
        )
        yield GaugeMetricFamily(
            "slo_service_notifications_pending",
            "Notifications in the outbox not delivered (nor dead) yet (the delivery backlog).",
            value=pending,
        )


def reference(engine: Engine, layout: Layout) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Reference(engine, layout))
    return generate_latest(registry)


def rendered(engine: Engine, layout: Layout, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setattr(metrics, "utcnow", lambda: NOW)  # the reference's clock: same backlog
    return metrics.SloGauges(engine, layout).render()


ODD = 'o"dd\\svc\nx'  # a double quote, a backslash and a newline: each needs escaping


def odd_summary(real: dict[str, Any]) -> dict[str, Any]:
    """A real summary with label values to escape and numbers of every form."""
    kept = Summary.of(real)
    assert kept is not None
    tiers = [*kept.stored()["tiers"]]
    tiers.append({**tiers[0], "severity": 'pa"ge\\', "long_window": "1\nh", "firing": True})
    return Summary.model_validate(
        {
            **kept.stored(),
            "evaluated_at": "2026-02-28T23:59:59.123456+05:30",
            "sli": 1e-07,
            "remaining": -1234567.25,
            "burn_rates": {
                **kept.burn_rates,
                'w"in\\dow\n': 12345678.5,
                "1d": 1e22,
                "3d": -0.0,
                "window": None,
            },
            "tiers": tiers,
        }
    ).stored()


def test_the_text_is_what_prometheus_client_wrote(
    client: TestClient, admin: Headers, db: Engine, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    churn = model(client, admin, "churn", SPENT)  # its budget freezes the service
    model(client, admin, "churn", LOW, name="latency")
    model(client, admin, "fraud", HEALTHY)
    model(client, admin, "fraud", HEALTHY, name="fresh", evaluate=False)  # no summary yet
    gone = model(client, admin, "fraud", HEALTHY, name="gone")
    assert client.delete(f"/api/v1/slos/{gone}", headers=admin).status_code in (200, 204)
    freeze = {"reason": "end-of-quarter change freeze"}
    assert (
        client.post("/api/v1/services/fraud/freeze", json=freeze, headers=admin).status_code == 201
    )
    with session_scope(db) as session:
        real = slo_repo.get(session, churn)
        assert real is not None
        assert real.summary is not None
        for name, summary in (("with-summary", odd_summary(real.summary)), ('n"o\\ne', None)):
            session.add(
                SLO(
                    service=ODD, name=name, kind="custom", objective=0.9995, window="7d",
                    budgeting="occurrences", params={}, sli={"source": "push"}, gate={},
                    labels={}, summary=summary,
                )
            )  # fmt: skip
        session.add(GateFreeze(service=ODD, cause="manual", reason="odd", started_by="test"))
    expected = reference(db, settings.layout)
    assert rendered(db, settings.layout, monkeypatch) == expected
    text = expected.decode()  # and the test saw what it means to test:
    for escaped in (r'service="o\"dd\\svc\nx"', r'window="w\"in\\dow\n"', r'severity="pa\"ge\\"'):
        assert escaped in text
    for number in ("1.23456785e+07", "1e+22", "1e-07", " -0.0\n", " -1234567.25\n"):
        assert number in text
    assert 'cause="budget",service="churn"} 1.0' in text
    assert 'cause="manual",service="fraud"} 1.0' in text
    assert 'slo="gone"' not in text  # deleted
    assert 'slo_objective{kind="availability",service="fraud",slo="fresh"}' in text


def test_a_real_evaluated_summary_renders_every_gauge(
    client: TestClient, admin: Headers, db: Engine, settings: Settings
) -> None:
    model(client, admin, "churn", SPENT)
    text = metrics.SloGauges(db, settings.layout).render().decode()
    sampled = {
        family.name
        for family in text_string_to_metric_families(text)
        if family.samples and family.name.startswith("slo_")
    }
    assert sampled >= {f"slo_{name}" for name, _, _ in _GAUGES} | {"slo_service_frozen"}


def row(summary: dict[str, Any] | str | None) -> slo_repo.GaugeRow:
    stored = summary if summary is None or isinstance(summary, str) else json.dumps(summary)
    return slo_repo.GaugeRow("churn", "availability", "availability", 0.99, stored)


SUMMARY: dict[str, Any] = {
    "evaluated_at": "2026-03-01T12:00:00Z",
    "evaluated_until": "2026-03-01T12:00:00Z",
    "sli": 0.98,
    "remaining": -1.0,
    "consumed": 2.0,
    "burn_rates": {"1h": 2.0},
    "paging": False,
    "tiers": [
        {
            "severity": "page",
            "long_window": "1h",
            "short_window": "5m",
            "factor": 14.4,
            "firing": False,
        },
    ],
    "state": "breached",
    "time_to_exhaustion_seconds": None,
}


@pytest.mark.parametrize("field", ["evaluated_at", "sli", "remaining", "burn_rates"])
def test_a_renamed_summary_field_fails_the_render(field: str) -> None:
    assert field in Summary.model_fields  # the contract the render reads
    renamed = {("renamed" if key == field else key): value for key, value in SUMMARY.items()}
    with pytest.raises(KeyError, match=field):
        metrics.text_of([row(renamed)], ["churn"], {}, due=0, pending=0)


def test_odd_kept_values_fail_the_render() -> None:
    naive = {**SUMMARY, "evaluated_at": "2026-03-01T12:00:00"}
    with pytest.raises(ValueError, match="no UTC offset"):
        metrics.text_of([row(naive)], ["churn"], {}, due=0, pending=0)
    not_a_flag = {**SUMMARY, "tiers": [{**SUMMARY["tiers"][0], "firing": "no"}]}
    with pytest.raises(KeyError):
        metrics.text_of([row(not_a_flag)], ["churn"], {}, due=0, pending=0)


def test_summaries_from_before_tiers_and_with_numbers_json_cannot_spell() -> None:
    """A summary kept before migration 0007 has no tiers (and an ``alerts`` key, ignored);
    NaN and infinities are in the JSON SQLite keeps (orjson refuses them; json reads them)."""
    old = {key: value for key, value in SUMMARY.items() if key != "tiers"} | {"alerts": []}
    odd = json.dumps({**SUMMARY, "sli": math.nan, "remaining": -math.inf})
    text = metrics.text_of([row(old), row(odd)], ["churn"], {}, due=0, pending=0)
    assert text.count("slo_alert_firing{") == 1  # the second row's tier only
    assert "} NaN\n" in text
    assert "} -Inf\n" in text


NUMBERS = [
    0.0, -0.0, 1.0, -1.0, 0.1, 1e-07, 123456.789, 999999.9999, 1e6, 1234567.0, 12345678.5,
    -1234567.25, 1e22, 1.7e308, 5e-324, 1776000000.123456, math.inf, -math.inf, math.nan, 3, True,
]  # fmt: skip


@pytest.mark.parametrize("value", NUMBERS)
def test_numbers_are_written_as_prometheus_client_writes_them(value: float) -> None:
    assert exposition.number(value) == floatToGoString(value)  # type: ignore[no-untyped-call]


class One(Collector):
    def __init__(self, value: str, documentation: str) -> None:
        self.value, self.documentation = value, documentation

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("x", self.documentation, labels=["a"])
        family.add_metric([self.value], 1.0)
        yield family


@pytest.mark.parametrize("value", ["plain", 'q"uote', "back\\slash", "new\nline", '\\"\n\\n', ""])
def test_labels_and_help_are_escaped_as_prometheus_client_escapes_them(value: str) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(One(value, f"help {value}"))
    expected = generate_latest(registry).decode()
    written = exposition.header("x", f"help {value}")
    written += f'x{{a="{exposition.LabelValues()[value]}"}} {exposition.number(1.0)}\n'
    assert written == expected
