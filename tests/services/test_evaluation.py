"""Evaluation against a real Prometheus backfilled with known data, on both backends."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from slo_service.db import session_scope
from slo_service.domain.blocks import Layout
from slo_service.domain.summary import Summary
from slo_service.models import SLO
from slo_service.repositories import policy as policy_repo
from slo_service.schemas.slo import SLOCreate
from slo_service.schemas.status import SLOStatusPublic
from slo_service.services import evaluation, history, slos, status
from slo_service.services.gate import state as gate
from slo_service.sources.base import NoQueryChecker
from slo_service.sources.prometheus import PrometheusSource
from tests.support.metrics import MODELS, Scenario
from tests.support.servers import free_port

LAYOUT = Layout(60)
DAY = 86400
AVAILABILITY = {
    "kind": "custom",
    "sli": {
        "type": "ratio",
        "good": 'ml_predictions_total{model_name="churn",status!="error"}',
        "total": 'ml_predictions_total{model_name="churn"}',
    },
}
LATENCY = {"kind": "latency", "params": {"threshold_ms": 500, "model_name": "churn"}}
ACCURACY = {
    "kind": "custom",
    "sli": {"type": "threshold", "query": 'min(ml_model_accuracy{model_name="churn"})',
            "op": ">=", "threshold": 0.85},
}  # fmt: skip


def at(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


@pytest.fixture
def make_slo(db: Engine) -> Callable[..., int]:
    def make(name: str, spec: dict[str, Any], window: str = "1d") -> int:
        data = SLOCreate.model_validate(
            {"service": "churn", "name": name, "objective": 0.99, "window": window, **spec}
        )
        with session_scope(db) as session:
            slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")
            assert slo.id is not None
            return slo.id

    return make


def run(db: Engine, slo_id: int, url: str, now: int, **options: Any) -> evaluation.Outcome:
    sources = {"prometheus": PrometheusSource(url, timeout=10)}
    with session_scope(db) as session:
        slo = session.get(SLO, slo_id)
        assert slo is not None
        return evaluation.evaluate(
            session, slo, sources=sources, layout=LAYOUT, now=at(now), **options
        )


def read(db: Engine, slo_id: int, now: int) -> SLOStatusPublic:
    with Session(db) as session:
        slo = session.get(SLO, slo_id)
        assert slo is not None
        return status.status(session, slo, now=at(now), layout=LAYOUT)


def burn(bad: float, total: float) -> float:
    return (bad / total) / 0.01


def test_ratio_budget_and_burn_rates_equal_the_data(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    slo_id = make_slo("availability", AVAILABILITY)
    end = scenario.end
    outcome = run(db, slo_id, scenario_prometheus, now=end + 60)
    assert outcome.ok, outcome.error
    result = read(db, slo_id, now=end + 60)
    assert result.evaluated_until == at(end)

    def counts(seconds: int) -> tuple[float, float]:
        good = scenario.count("ok", end - seconds, end)
        return good, good + scenario.count("error", end - seconds, end)

    good, total = counts(DAY)
    assert result.good == pytest.approx(good, rel=1e-9)
    assert result.total == pytest.approx(total, rel=1e-9)
    assert result.error_budget.remaining == pytest.approx(1 - burn(total - good, total), rel=1e-9)
    for name, seconds in (("1h", 3600), ("6h", 6 * 3600), ("1d", DAY), ("3d", 3 * DAY)):
        good, total = counts(seconds)
        assert result.burn_rates[name] == pytest.approx(burn(total - good, total), rel=1e-9), name
    assert result.burn_rates["1h"] == 0  # the outage was 4 to 5 hours ago
    assert (result.burn_rates["6h"] or 0) > 1


def test_latency_counts_the_le_bucket_of_the_threshold(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    slo_id = make_slo("latency", LATENCY)
    assert run(db, slo_id, scenario_prometheus, now=scenario.end + 60).ok
    result = read(db, slo_id, now=scenario.end + 60)
    start = scenario.end - DAY
    assert result.good == pytest.approx(scenario.count("le=0.5", start, scenario.end), rel=1e-9)
    assert result.total == pytest.approx(scenario.count("le=+Inf", start, scenario.end), rel=1e-9)


def test_threshold_timeslices(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    slo_id = make_slo("accuracy", ACCURACY)
    assert run(db, slo_id, scenario_prometheus, now=scenario.end + 60).ok
    result = read(db, slo_id, now=scenario.end + 60)
    good, total = scenario.slices(lambda value: value >= 0.85, scenario.end - DAY, scenario.end)
    assert (result.good, result.total) == (good, total)
    assert total - good == 30  # the half-hour accuracy drop, minute by minute
    assert result.error_budget.remaining_minutes == pytest.approx(
        (1 - burn(30, total)) * 0.01 * 24 * 60, rel=1e-9
    )


def test_incremental_runs_equal_one_shot(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    once = make_slo("once", AVAILABILITY)
    steps = make_slo("steps", AVAILABILITY)
    end = scenario.end
    assert run(db, once, scenario_prometheus, now=end + 60).ok
    for now in (end - 6 * 3600 + 60, end - 4 * 3600 - 1234, end - 60, end + 60, end + 60):
        assert run(db, steps, scenario_prometheus, now=now).ok
    one, many = read(db, once, end + 60), read(db, steps, end + 60)
    assert (many.good, many.total) == (one.good, one.total)
    assert many.burn_rates == one.burn_rates


def test_a_crash_mid_run_leaves_nothing_and_the_resume_catches_up(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    clean, crashed = make_slo("clean", AVAILABILITY), make_slo("crashed", AVAILABILITY)
    end = scenario.end
    assert run(db, clean, scenario_prometheus, now=end + 60).ok
    assert run(db, crashed, scenario_prometheus, now=end - 8 * 3600).ok
    sources = {"prometheus": PrometheusSource(scenario_prometheus, timeout=10)}

    def crash() -> None:
        with session_scope(db) as session:
            slo = session.get(SLO, crashed)
            assert slo is not None
            evaluation.evaluate(session, slo, sources=sources, layout=LAYOUT, now=at(end + 60))
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError, match="crash"):
        crash()
    halfway = read(db, crashed, end + 60)
    assert halfway.evaluated_until == at(end - 8 * 3600 - 60)
    assert run(db, crashed, scenario_prometheus, now=end + 60).ok
    assert read(db, crashed, end + 60).model_dump(exclude={"id", "name"}) == read(
        db, clean, end + 60
    ).model_dump(exclude={"id", "name"})


def test_unreachable_prometheus_moves_nothing_and_counts_nothing(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    slo_id = make_slo("availability", AVAILABILITY)
    end = scenario.end
    assert run(db, slo_id, scenario_prometheus, now=end - 3600).ok
    before = read(db, slo_id, end + 60)
    down = f"http://127.0.0.1:{free_port()}"
    outcome = run(db, slo_id, down, now=end + 60)
    assert not outcome.ok
    assert "unreachable" in (outcome.error or "")
    after = read(db, slo_id, end + 60)
    assert after.evaluated_until == before.evaluated_until
    assert (after.good, after.total) == (before.good, before.total)
    assert after.last_error == outcome.error
    assert run(db, slo_id, scenario_prometheus, now=end + 60).ok
    caught_up = read(db, slo_id, end + 60)
    assert caught_up.evaluated_until == at(end)
    assert caught_up.last_error is None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {
                "kind": "custom",
                "sli": {
                    "type": "threshold",
                    "query": "ml_predictions_total",
                    "op": ">",
                    "threshold": 0,
                },
            },
            "series where one is expected",
        ),
        (
            {"kind": "latency", "params": {"threshold_ms": 300, "model_name": "churn"}},
            "no le bound at 0.3 s; its bounds are 0.1, 0.5, 1, +Inf",
        ),
    ],
    ids=["several-series", "threshold-not-a-bound"],
)
def test_unusable_answers_are_named_errors(
    db: Engine,
    make_slo: Callable[..., int],
    scenario: Scenario,
    scenario_prometheus: str,
    spec: dict[str, Any],
    message: str,
) -> None:
    slo_id = make_slo("broken", spec)
    outcome = run(db, slo_id, scenario_prometheus, now=scenario.end + 60)
    assert message in (outcome.error or "")
    result = read(db, slo_id, scenario.end + 60)
    assert result.evaluated_until is None
    assert result.state == "no_data"
    assert message in (result.last_error or "")


def test_models_share_queries_and_each_gets_its_own_numbers(
    db: Engine, scenario: Scenario, scenario_prometheus: str
) -> None:
    ids: dict[tuple[str, str], int] = {}
    with session_scope(db) as session:
        for model in MODELS:
            for kind, params in (
                ("availability", {}),
                ("latency", {"threshold_ms": 500}),
                ("accuracy", {"baseline": 0.9, "tolerance": 0.05}),
            ):
                data = SLOCreate.model_validate(
                    {"service": model.replace(".", "-"), "name": kind, "kind": kind,
                     "objective": 0.99, "window": "1d", "params": {**params, "model_name": model}}
                )  # fmt: skip
                slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")
                assert slo.id is not None
                ids[model, kind] = slo.id
    source = PrometheusSource(scenario_prometheus, timeout=10)
    outcomes = evaluation.run_cycle(
        db, sources={"prometheus": source}, layout=LAYOUT, owner="t", now=at(scenario.end + 60)
    )
    assert sorted(o.slo_id for o in outcomes if o.ok) == sorted(ids.values())
    # 9 SLOs, 3 models: good and total of availability, latency's bounds lookup, its bucket
    # and count, and accuracy: 6 requests, as many as for one model (the first evaluation
    # covers the 3-day burn window, in one slice).
    assert source.api.requests == 6
    source.api.requests = 0
    steady = evaluation.run_cycle(
        db, sources={"prometheus": source}, layout=LAYOUT, owner="t", now=at(scenario.end + 120)
    )
    assert len(steady) == 9
    assert source.api.requests == 6
    end, start = scenario.end, scenario.end - DAY
    for factor, model in enumerate(MODELS, start=1):
        availability = read(db, ids[model, "availability"], end + 60)
        assert availability.good == pytest.approx(scenario.count("ok", start, end, model))
        assert availability.total == pytest.approx(
            scenario.count("ok", start, end, model) + scenario.count("error", start, end, model)
        )
        latency = read(db, ids[model, "latency"], end + 60)
        assert latency.good == pytest.approx(scenario.count("le=0.5", start, end, model))
        assert latency.total == pytest.approx(factor * scenario.count("le=+Inf", start, end))
        accuracy = read(db, ids[model, "accuracy"], end + 60)
        assert accuracy.total - accuracy.good == 30
    # Each SLO keeps its numbers, and its service's gate decides from them.
    steady_at = at(scenario.end + 120)
    with Session(db) as session:
        for slo_id in ids.values():
            kept = session.get(SLO, slo_id)
            assert kept is not None
            summary = Summary.of(kept.summary)
            assert summary is not None
            current = status.status(session, kept, now=steady_at, layout=LAYOUT)
            assert summary.remaining == current.error_budget.remaining
            assert summary.burn_rates == current.burn_rates
            assert summary.evaluated_at == steady_at
        for model in MODELS:
            stored = policy_repo.read_state(session, model.replace(".", "-"))
            state = gate.STATE.validate_python(stored)
            assert sorted(s.name for s in state.slos) == ["accuracy", "availability", "latency"]
            assert {s.evaluated_at for s in state.slos} == {steady_at}


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_calendar_month_starts_afresh(
    db: Engine,
    make_slo: Callable[..., int],
    month_scenario: Scenario,
    scenario_prometheus: str,
    zone: str,
) -> None:
    spec = {"kind": "availability", "params": {"model_name": "monthly"}, "timezone": zone}
    slo_id = make_slo(f"month-{zone.lower().replace('/', '-')}", spec, window="month")
    end = month_scenario.end  # 12 hours into the month, in UTC
    assert run(db, slo_id, scenario_prometheus, now=end + 60).ok
    result = read(db, slo_id, end + 60)
    first = at(end)
    month_start = int(datetime(first.year, first.month, 1, tzinfo=ZoneInfo(zone)).timestamp())
    assert result.window.start == at(month_start)  # Berlin's 1st begins at 23:00 UTC

    def counts(start: int) -> tuple[float, float]:
        good = month_scenario.count("ok", start, end)
        return good, good + month_scenario.count("error", start, end)

    good, total = counts(month_start)
    assert result.good == pytest.approx(good)
    assert result.total == pytest.approx(total)
    good, total = counts(end - DAY)  # the day's burn rate reaches back into last month
    assert result.burn_rates["1d"] == pytest.approx(burn(total - good, total), rel=1e-9)
    assert result.burn_rates["1d"] != result.burn_rates["window"]


def test_a_counter_scraped_too_seldom_is_an_error_not_no_data(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    slo_id = make_slo("slow", {"kind": "availability", "params": {"model_name": "slow"}})
    outcome = run(db, slo_id, scenario_prometheus, now=scenario.end + 60)
    assert not outcome.ok
    assert "scraped less than twice per bucket" in (outcome.error or "")
    # Slices from before the slow counter existed may be measured (empty); its own is not.
    result = read(db, slo_id, scenario.end + 60)
    until = result.evaluated_until
    assert until is None or until <= at(scenario.end - 6 * 3600)
    assert result.last_error == outcome.error


def test_thirty_day_budget_to_one_part_in_a_million(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    spec = {**AVAILABILITY, "objective": 0.999}
    slo_id = make_slo("thirty-days", spec, window="30d")
    end = scenario.end
    assert run(db, slo_id, scenario_prometheus, now=end + 60).ok
    result = read(db, slo_id, end + 60)
    good = scenario.count("ok", end - 30 * DAY, end)
    total = good + scenario.count("error", end - 30 * DAY, end)
    consumed = ((total - good) / total) / 0.001
    assert result.total == pytest.approx(total, rel=1e-6)
    assert result.error_budget.consumed == pytest.approx(consumed, rel=1e-6)
    assert result.error_budget.remaining == pytest.approx(1 - consumed, rel=1e-6)
    assert result.burn_rates["window"] == pytest.approx(consumed, rel=1e-6)


def test_history_points_measure_the_window_ending_at_each(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    slo_id = make_slo("availability", AVAILABILITY)
    end = scenario.end
    assert run(db, slo_id, scenario_prometheus, now=end + 60).ok
    with Session(db) as session:
        slo = session.get(SLO, slo_id)
        assert slo is not None
        series = history.history(
            session, slo, start=at(end - 6 * 3600), end=at(end), step=timedelta(hours=1),
            now=at(end + 60), layout=LAYOUT,
        )  # fmt: skip
    assert [p.at for p in series.points] == [at(end - h * 3600) for h in range(6, -1, -1)]
    for point in series.points:
        mark = int(point.at.timestamp())
        good = scenario.count("ok", mark - DAY, mark)
        total = good + scenario.count("error", mark - DAY, mark)
        assert point.good == pytest.approx(good)
        assert point.total == pytest.approx(total)
        assert point.budget_remaining == pytest.approx(1 - burn(total - good, total), rel=1e-9)
    # The outage (5 to 4 hours before the end) lowers every later point's budget.
    remaining = [p.budget_remaining or 0 for p in series.points]
    assert remaining[0] > remaining[2]


@pytest.mark.parametrize(
    ("start", "step", "end", "cut"),
    [
        (3600 * 10 + 120, 7200, 3600 * 20, 3600 * 12),  # mid-hour: back to the hour boundary
        (3600 * 10, 7200, 3600 * 20, 3600 * 12),
        (3600 * 10 + 120, 3600, 3600 * 20, 3600 * 11),
        (3600 * 10 + 120, 7200, 3600 * 11 + 60, 3600 * 11 + 60),  # the SLO's end comes first
    ],
)
def test_slices_end_on_block_boundaries(start: int, step: int, end: int, cut: int) -> None:
    assert evaluation._cut(start, step, end) == cut
