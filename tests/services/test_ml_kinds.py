"""The ML kinds measured from a real Prometheus backfilled with known data, on both backends:
model and data freshness slice by slice against the Scenario's truth, and every Prometheus
kind through its template, posted as a user would."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import session_scope
from slo_service.schemas.slo import SLOCreate
from slo_service.schemas.status import SLOStatusPublic
from slo_service.services import slos
from slo_service.sources.base import NoQueryChecker
from tests.services.test_evaluation import at, read, run
from tests.support.metrics import Scenario

DAY = 86400
Headers = dict[str, str]
Truth = Callable[[Scenario, int, int], tuple[float, float]]


@pytest.fixture
def make_slo(db: Engine) -> Callable[..., int]:
    def make(
        name: str, kind: str, params: dict[str, Any], window: str = "1d", objective: float = 0.99
    ) -> int:
        data = SLOCreate.model_validate(
            {"service": "churn", "name": name, "kind": kind, "params": params,
             "objective": objective, "window": window}
        )  # fmt: skip
        with session_scope(db) as session:
            slo = slos.create(session, slos.prepare(data, NoQueryChecker()), actor="tests")
            assert slo.id is not None
            return slo.id

    return make


def consumed(good: float, total: float, objective: float = 0.99) -> float:
    return ((total - good) / total) / (1 - objective)


def measure(db: Engine, slo_id: int, scenario: Scenario, url: str) -> SLOStatusPublic:
    """Evaluate up to the scenario's end, and the status there."""
    outcome = run(db, slo_id, url, now=scenario.end + 60)
    assert outcome.ok, outcome.error
    result = read(db, slo_id, now=scenario.end + 60)
    assert result.evaluated_until == at(scenario.end)
    assert result.last_error is None
    return result


def assert_slices(
    result: SLOStatusPublic, good: int, total: int, *, objective: float, minutes: int
) -> None:
    """The status counts exactly these slices, and its SLI and budget follow from them."""
    assert (result.good, result.total) == (good, total)
    assert result.sli == pytest.approx(good / total, rel=1e-12)
    remaining = 1 - consumed(good, total, objective)
    assert result.error_budget.remaining == pytest.approx(remaining, rel=1e-9, abs=1e-12)
    assert result.error_budget.remaining_minutes == pytest.approx(
        remaining * (1 - objective) * minutes, rel=1e-9, abs=1e-9
    )


def test_model_freshness_counts_slices_while_an_older_version_serves(
    db: Engine, make_slo: Callable[..., int], scenario: Scenario, scenario_prometheus: str
) -> None:
    slo_id = make_slo("freshness", "model_freshness", {"model_name": "churn"})
    result = measure(db, slo_id, scenario, scenario_prometheus)
    end = scenario.end
    good, total = scenario.latest_slices(end - DAY, end)
    assert (good, total) == (1440 - 30, 1440)  # 6 h to 5 h 30 m before the end
    assert_slices(result, good, total, objective=0.99, minutes=24 * 60)
    assert result.burn_rates["1h"] == 0
    # The 6 h burn window starts at the first bad slice's mark: that slice is outside it.
    assert scenario.latest_slices(end - 6 * 3600, end) == (360 - 29, 360)
    assert result.burn_rates["6h"] == pytest.approx(consumed(331, 360), rel=1e-9)


@pytest.mark.parametrize(
    ("max_age_hours", "bad"),
    [
        # The deploy 68 h before the end was missed: the one 92 h before serves until 44 h
        # before the end. At exactly 24 h old a version is still good (<=).
        (24, 24 * 60 - 1),
        (25, 23 * 60 - 1),
        (48, 0),
    ],
)
def test_model_freshness_with_max_age_counts_slices_after_a_missed_deploy(
    db: Engine,
    make_slo: Callable[..., int],
    scenario: Scenario,
    scenario_prometheus: str,
    max_age_hours: int,
    bad: int,
) -> None:
    params = {"model_name": "churn.v2", "max_age_hours": max_age_hours}
    slo_id = make_slo("deployed", "model_freshness", params, window="7d", objective=0.8)
    result = measure(db, slo_id, scenario, scenario_prometheus)
    end = scenario.end
    good, total = scenario.deploy_age_slices(max_age_hours, end - 7 * DAY, end)
    assert (good, total) == (7 * 1440 - bad, 7 * 1440)
    assert_slices(result, good, total, objective=0.8, minutes=7 * 24 * 60)
    assert result.burn_rates["1d"] == 0  # deploys 20 h and 44 h before the end
    three_days = scenario.deploy_age_slices(max_age_hours, end - 3 * DAY, end)
    assert result.burn_rates["3d"] == pytest.approx(consumed(*three_days, 0.8), rel=1e-9)


@pytest.mark.parametrize(
    ("max_age_minutes", "bad"),
    [
        # No update from 3 h 30 m to 2 h before the end; ages are judged strictly (<), so
        # the slice whose features are exactly max_age_minutes old is bad.
        (5, 85),
        (30, 60),
        (60, 30),
        (90, 0),  # the stall's features are 89 minutes old at the most
    ],
)
def test_data_freshness_counts_slices_while_the_features_are_stale(
    db: Engine,
    make_slo: Callable[..., int],
    scenario: Scenario,
    scenario_prometheus: str,
    max_age_minutes: int,
    bad: int,
) -> None:
    params = {"model_name": "fraud", "max_age_minutes": max_age_minutes}
    slo_id = make_slo("features", "data_freshness", params)
    result = measure(db, slo_id, scenario, scenario_prometheus)
    end = scenario.end
    good, total = scenario.feature_age_slices(max_age_minutes, end - DAY, end)
    assert (good, total) == (1440 - bad, 1440)
    assert_slices(result, good, total, objective=0.99, minutes=24 * 60)
    assert result.burn_rates["2h"] == 0  # the stall ended 2 h before the end
    assert result.burn_rates["6h"] == pytest.approx(consumed(360 - bad, 360), rel=1e-9)


@pytest.mark.parametrize(
    ("kind", "params", "truth", "bad"),
    [
        ("model_freshness", {}, lambda s, a, b: s.latest_slices(a, b), 30),
        ("model_freshness", {"max_age_hours": 25}, lambda s, a, b: s.deploy_age_slices(25, a, b),
         23 * 60 - 1),
        ("data_freshness", {}, lambda s, a, b: s.feature_age_slices(30, a, b), 60),
    ],
    ids=["latest", "max-age", "features"],
)  # fmt: skip
def test_freshness_over_thirty_days_counts_each_incident_once(
    db: Engine,
    make_slo: Callable[..., int],
    scenario: Scenario,
    scenario_prometheus: str,
    kind: str,
    params: dict[str, Any],
    truth: Callable[[Scenario, int, int], tuple[int, int]],
    bad: int,
) -> None:
    slo_id = make_slo("thirty", kind, params, window="30d", objective=0.999)
    result = measure(db, slo_id, scenario, scenario_prometheus)
    good, total = truth(scenario, scenario.end - 30 * DAY, scenario.end)
    assert (good, total) == (30 * 1440 - bad, 30 * 1440)
    assert_slices(result, good, total, objective=0.999, minutes=30 * 24 * 60)


@dataclass(frozen=True)
class Case:
    """A kind as a user posts it for the service "fraud" (the model by default), the SLI it
    expands to, and the (good, total) the Scenario implies over the window before its end."""

    kind: str
    params: dict[str, Any]
    sli: dict[str, Any]
    budgeting: str
    truth: Truth


def _events(scenario: Scenario, start: int, end: int) -> tuple[float, float]:
    good = scenario.count("ok", start, end, "fraud")
    return good, good + scenario.count("error", start, end, "fraud")


def _latency(scenario: Scenario, start: int, end: int) -> tuple[float, float]:
    good = scenario.count("le=0.5", start, end, "fraud")
    return good, scenario.count("le=+Inf", start, end, "fraud")


def _slices(count: Callable[[Scenario, int, int], tuple[int, int]]) -> Truth:
    def truth(scenario: Scenario, start: int, end: int) -> tuple[float, float]:
        good, total = count(scenario, start, end)
        return float(good), float(total)

    return truth


FRAUD = 'model_name="fraud"'
CASES = [
    Case(
        "availability", {},
        {"source": "prometheus", "type": "ratio",
         "good": f'ml_predictions_total{{{FRAUD},status!~"error"}}',
         "total": f"ml_predictions_total{{{FRAUD}}}"},
        "occurrences", _events,
    ),
    Case(
        "latency", {"threshold_ms": 500},
        {"source": "prometheus", "type": "latency",
         "histogram": f"ml_prediction_duration_seconds{{{FRAUD}}}", "threshold_seconds": 0.5},
        "occurrences", _latency,
    ),
    Case(
        "model_freshness", {},
        {"source": "prometheus", "type": "threshold",
         "query": f"max(ml_model_is_latest{{{FRAUD}}})", "op": ">=", "threshold": 1},
        "timeslices", _slices(lambda s, a, b: s.latest_slices(a, b)),
    ),
    Case(
        "model_freshness", {"max_age_hours": 25},
        {"source": "prometheus", "type": "threshold",
         "query": f"time() - max(ml_model_deployed_timestamp_seconds{{{FRAUD}}})",
         "op": "<=", "threshold": 90000},
        "timeslices", _slices(lambda s, a, b: s.deploy_age_slices(25, a, b)),
    ),
    Case(
        "accuracy", {"baseline": 0.9, "tolerance": 0.05},
        {"source": "prometheus", "type": "threshold",
         "query": f"min(ml_model_accuracy{{{FRAUD}}})", "op": ">=", "threshold": 0.855},
        "timeslices", _slices(lambda s, a, b: s.slices(lambda v: v >= 0.9 * 0.95, a, b)),
    ),
    Case(
        "data_freshness", {},
        {"source": "prometheus", "type": "threshold",
         "query": f"time() - max(ml_feature_last_updated_timestamp_seconds{{{FRAUD}}})",
         "op": "<", "threshold": 1800},
        "timeslices", _slices(lambda s, a, b: s.feature_age_slices(30, a, b)),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    "case", CASES, ids=["availability", "latency", "model-latest", "model-max-age", "accuracy",
                        "data-freshness"]
)  # fmt: skip
def test_each_kind_posted_with_params_measures_the_scenario_truth(
    settings: Settings,
    db: Engine,
    admin: Headers,
    scenario: Scenario,
    scenario_prometheus: str,
    case: Case,
) -> None:
    body = {"service": "fraud", "name": case.kind.replace("_", "-"), "kind": case.kind,
            "objective": 0.99, "window": "7d", "params": case.params}  # fmt: skip
    live = settings.model_copy(update={"prometheus_url": scenario_prometheus})
    with TestClient(create_app(live, engine=db)) as client:  # queries checked by Prometheus
        response = client.post("/api/v1/slos", json=body, headers=admin)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["sli"] == case.sli
    assert created["budgeting"] == case.budgeting
    result = measure(db, created["id"], scenario, scenario_prometheus)
    end = scenario.end
    good, total = case.truth(scenario, end - 7 * DAY, end)
    assert total > good > 0  # each kind's window holds an incident
    assert result.good == pytest.approx(good, rel=1e-9)
    assert result.total == pytest.approx(total, rel=1e-9)
    assert result.sli == pytest.approx(good / total, rel=1e-9)
    remaining = 1 - consumed(good, total)
    assert result.error_budget.remaining == pytest.approx(remaining, rel=1e-9)
    if case.budgeting == "timeslices":
        assert (result.good, result.total) == (good, total)  # whole slices, exactly
        minutes = remaining * 0.01 * 7 * 24 * 60
        assert result.error_budget.remaining_minutes == pytest.approx(minutes, rel=1e-9)
    else:
        assert result.error_budget.remaining_minutes is None
