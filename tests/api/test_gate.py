"""The deploy gate over HTTP, on both backends: every decision path, from real budgets.

Budgets come from pushed events and a real evaluation (which keeps each SLO's summary and its
service's gate state), never from rows written by hand.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from slo_service.api.state import state_of
from slo_service.config import Settings
from slo_service.db import make_engine, session_scope, utcnow
from slo_service.models import ServiceGate
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo
from slo_service.schemas.gate import OverrideCreate
from slo_service.services import evaluation, tokens
from slo_service.services.gate import policy
from slo_service.services.gate import state as gate_service
from tests.api.test_events_status import minute_ago

Headers = dict[str, str]
API = "/api/v1"

# Objective 0.99: a bad fraction f of the events spends f / 0.01 of the budget.
HEALTHY, LOW, SPENT = 0.001, 0.008, 0.02  # remaining 0.9, 0.2, -1.0


def model(
    client: TestClient,
    admin: Headers,
    service: str,
    bad: float,
    *,
    name: str = "availability",
    evaluate: bool = True,
    ages: range = range(20, 50),
    **fields: Any,
) -> int:
    """A push SLO of ``service`` with a minute of events at each of ``ages`` (minutes ago) of
    which a fraction ``bad`` failed, evaluated now."""
    body = {
        "service": service,
        "name": name,
        "kind": "availability",
        "objective": 0.99,
        "window": "7d",
        "sli": {"source": "push"},
        **fields,
    }
    response = client.post(f"{API}/slos", json=body, headers=admin)
    assert response.status_code == 201, response.text
    slo_id: int = response.json()["id"]
    push(client, admin, f"{service}:{name}", ages, good=1000 * (1 - bad), total=1000)
    if evaluate:
        assert client.post(f"{API}/slos/{slo_id}/evaluate", headers=admin).status_code == 200
    return slo_id


def push(
    client: TestClient, admin: Headers, slo: str, ages: range, *, good: float, total: float
) -> None:
    items = [
        {
            "slo": slo,
            "timestamp": minute_ago(age),
            "good": good,
            "total": total,
            "event_id": f"{slo}-{age}-{good}-{total}",
        }
        for age in ages
    ]
    response = client.post(f"{API}/events", json={"events": items}, headers=admin)
    assert response.json()["accepted"] == len(items), response.text


def gate(client: TestClient, headers: Headers, service: str, **params: str) -> dict[str, Any]:
    response = client.get(f"{API}/gate", params={"service": service, **params}, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
def gate_token(make_token: Callable[..., Headers]) -> Headers:
    return make_token("gate", name="ci")


@pytest.mark.parametrize(
    ("bad", "decision", "cause", "remaining", "threshold"),
    [
        (HEALTHY, "allow", "healthy", 0.9, None),
        (LOW, "warn", "budget_low", 0.2, 0.25),
        (SPENT, "deny", "budget_frozen", -1.0, 0.0),
    ],
    ids=["allow", "warn", "deny"],
)
def test_allow_warn_deny_from_the_budget(
    client: TestClient,
    admin: Headers,
    gate_token: Headers,
    settings: Settings,
    bad: float,
    decision: str,
    cause: str,
    remaining: float,
    threshold: float | None,
) -> None:
    slo_id = model(client, admin, "churn", bad)
    before = utcnow()
    answer = gate(client, gate_token, "churn")
    assert answer["decision"] == decision
    assert (answer["service"], answer["change_type"]) == ("churn", "feature")
    assert answer["frozen"] is (decision == "deny")
    assert answer["bypass"] is None
    (reason,) = answer["reasons"]
    assert (reason["slo_id"], reason["slo"]) == (slo_id, "churn:availability")
    assert (reason["verdict"], reason["cause"], reason["stale"]) == (decision, cause, False)
    assert reason["budget_remaining"] == pytest.approx(remaining, abs=1e-9)
    assert reason["threshold"] == threshold
    assert reason["burn_rates"]["1h"] == pytest.approx(bad / 0.01, rel=1e-9)
    base = str(settings.public_base_url).rstrip("/")
    assert reason["url"] == f"{base}/slos/{slo_id}"
    assert reason["status_url"] == f"{base}/api/v1/slos/{slo_id}/status"
    evaluated_at = datetime.fromisoformat(answer["evaluated_at"])
    assert before - timedelta(minutes=1) < evaluated_at <= before
    assert datetime.fromisoformat(answer["decided_at"]) >= before


def test_the_worst_slo_decides_and_each_gives_its_reason(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    model(client, admin, "churn", HEALTHY, name="availability")
    model(client, admin, "churn", LOW, name="latency")
    answer = gate(client, gate_token, "churn")
    assert answer["decision"] == "warn"
    assert [(r["slo"], r["verdict"]) for r in answer["reasons"]] == [
        ("churn:availability", "allow"),
        ("churn:latency", "warn"),
    ]
    model(client, admin, "churn", SPENT, name="accuracy")
    assert gate(client, gate_token, "churn")["decision"] == "deny"


def test_a_page_tier_alert_warns_while_budget_is_left(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    # Good events over an hour ago, then a burst of errors in the last minutes: 100% bad over
    # the fastest page tier of a 7d SLO, 14m and 1m (1h and 5m scaled by 7/30). The current
    # minute too, so that the last whole minute holds errors even if a minute turns meanwhile.
    slo_id = model(client, admin, "churn", 0.0, evaluate=False, ages=range(70, 100))
    push(client, admin, "churn:availability", range(0, 3), good=0, total=100)
    client.post(f"{API}/slos/{slo_id}/evaluate", headers=admin)
    (reason,) = gate(client, gate_token, "churn")["reasons"]
    assert (reason["verdict"], reason["cause"]) == ("warn", "paging")
    assert reason["budget_remaining"] > 0.25


def test_an_slo_that_does_not_gate_never_blocks(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    model(client, admin, "churn", SPENT, gate={"gating": False})
    answer = gate(client, gate_token, "churn")
    assert answer["decision"] == "allow"
    assert answer["reasons"][0]["cause"] == "not_gating"


def evaluate_at(db: Engine, settings: Settings, slo_id: int, when: datetime) -> None:
    """Evaluate as the scheduler would have at ``when`` (and not since)."""
    with session_scope(db) as session:
        slo = slo_repo.get(session, slo_id)
        assert slo is not None
        evaluation.evaluate(session, slo, sources={}, layout=settings.layout, now=when)


@pytest.mark.parametrize(
    ("stale_policy", "decision"),
    [("fail_open", "warn"), ("fail_closed", "deny")],
    ids=["fail-open", "fail-closed"],
)
def test_stale_data_never_counts_as_healthy(
    client: TestClient,
    admin: Headers,
    gate_token: Headers,
    db: Engine,
    settings: Settings,
    stale_policy: str,
    decision: str,
) -> None:
    policy = {"stale_policy": stale_policy, "staleness_limit": "15m"}
    slo_id = model(client, admin, "churn", HEALTHY, evaluate=False, gate=policy)
    evaluate_at(db, settings, slo_id, utcnow() - timedelta(minutes=20))
    answer = gate(client, gate_token, "churn")
    assert answer["decision"] == decision
    (reason,) = answer["reasons"]
    assert (reason["cause"], reason["stale"]) == ("stale", True)
    assert "over the 15m staleness limit" in reason["detail"]
    assert stale_policy in reason["detail"]

    evaluate_at(db, settings, slo_id, utcnow())  # fresh again
    assert gate(client, gate_token, "churn")["decision"] == "allow"


def test_an_slo_never_evaluated_is_stale(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    model(client, admin, "churn", HEALTHY, evaluate=False, gate={"stale_policy": "fail_closed"})
    answer = gate(client, gate_token, "churn")
    assert answer["decision"] == "deny"
    assert answer["evaluated_at"] is None
    assert "never evaluated" in answer["reasons"][0]["detail"]


@pytest.mark.parametrize(
    ("change_type", "decision", "bypass"),
    [
        ("feature", "deny", None),
        ("rollback", "allow", "exempt_change_type"),
        ("security", "allow", "exempt_change_type"),
        ("hotfix", "deny", None),
    ],
    ids=["feature", "rollback", "security", "hotfix"],
)
def test_exempt_change_types_pass_a_freeze(
    client: TestClient,
    admin: Headers,
    gate_token: Headers,
    change_type: str,
    decision: str,
    bypass: str | None,
) -> None:
    model(client, admin, "churn", SPENT)
    answer = gate(client, gate_token, "churn", change_type=change_type)
    assert (answer["decision"], answer["frozen"], answer["bypass"]) == (decision, True, bypass)
    assert answer["change_type"] == change_type


def test_the_service_policy_sets_exemptions_and_defaults(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    model(client, admin, "churn", SPENT)
    model(client, admin, "fraud", 0.006)  # remaining 0.4
    assert gate(client, gate_token, "fraud")["decision"] == "allow"

    policy = {"gate": {"warn_threshold": 0.5}, "exempt_change_types": ["hotfix"]}
    for service in ("churn", "fraud"):
        response = client.put(f"{API}/services/{service}/policy", json=policy, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json()["updated_by"] == "admin"
    assert gate(client, gate_token, "churn", change_type="hotfix")["decision"] == "allow"
    assert gate(client, gate_token, "churn", change_type="rollback")["decision"] == "deny"
    fraud = gate(client, gate_token, "fraud")
    assert fraud["decision"] == "warn"
    assert fraud["reasons"][0]["threshold"] == 0.5

    # The SLO's own setting wins over the service's.
    response = client.patch(
        f"{API}/slos/fraud:availability", json={"gate": {"warn_threshold": 0.3}}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert gate(client, gate_token, "fraud")["decision"] == "allow"

    got = client.get(f"{API}/services/fraud/policy", headers=gate_token)
    assert got.status_code == 403  # a gate token only asks the gate
    got = client.get(f"{API}/services/fraud/policy", headers=admin).json()
    assert got["gate"]["warn_threshold"] == 0.5
    assert got["exempt_change_types"] == ["hotfix"]
    audit = client.get(f"{API}/audit", params={"action": "policy.update"}, headers=admin).json()
    assert audit["count"] == 2
    assert audit["data"][0]["changes"]["exempt_change_types"] == {
        "from": ["rollback", "security"],
        "to": ["hotfix"],
    }


def override_body(**fields: Any) -> dict[str, Any]:
    expires = utcnow() + timedelta(hours=2)
    return {"reason": "hotfix for INC-1", "expires_at": expires.isoformat(), **fields}


def test_an_override_lets_deploys_through_until_revoked(
    client: TestClient,
    admin: Headers,
    gate_token: Headers,
    make_token: Callable[..., Headers],
) -> None:
    model(client, admin, "churn", SPENT)
    oncall = make_token("override", name="oncall")
    response = client.post(
        f"{API}/services/churn/overrides", json=override_body(ticket="INC-1"), headers=oncall
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["created_by"], created["state"], created["ticket"]) == (
        "oncall",
        "active",
        "INC-1",
    )

    answer = gate(client, gate_token, "churn")
    assert (answer["decision"], answer["frozen"], answer["bypass"]) == ("allow", True, "override")
    assert answer["override_id"] == created["id"]
    assert [o["id"] for o in answer["overrides"]] == [created["id"]]
    assert answer["reasons"][0]["verdict"] == "deny"  # the SLO still says so

    response = client.delete(f"{API}/services/churn/overrides/{created['id']}", headers=oncall)
    assert response.json()["state"] == "revoked"
    assert response.json()["revoked_by"] == "oncall"
    answer = gate(client, gate_token, "churn")
    assert (answer["decision"], answer["overrides"]) == ("deny", [])

    listed = client.get(f"{API}/services/churn/overrides", headers=gate_token)
    assert listed.status_code == 403
    listed = client.get(f"{API}/services/churn/overrides", headers=admin).json()
    assert [o["state"] for o in listed["data"]] == ["revoked"]
    active = client.get(f"{API}/services/churn/overrides?active=true", headers=admin).json()
    assert active["count"] == 0
    audit = client.get(f"{API}/audit", params={"target_id": "churn"}, headers=admin).json()
    actions = [(e["action"], e["actor"]) for e in audit["data"]]
    assert ("override.create", "oncall") in actions
    assert ("override.revoke", "oncall") in actions


def test_a_write_token_cannot_let_a_deploy_through_a_freeze(
    client: TestClient,
    admin: Headers,
    gate_token: Headers,
    make_token: Callable[..., Headers],
) -> None:
    """Break-glass needs the override scope (or admin): write alone may change SLOs, not
    bypass the freeze their budgets set."""
    model(client, admin, "churn", SPENT)
    writer = make_token("write", name="dev")
    refused = client.post(f"{API}/services/churn/overrides", json=override_body(), headers=writer)
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "Forbidden",
        "detail": "token 'dev' has scopes [write]; this needs override",
    }
    assert gate(client, gate_token, "churn")["decision"] == "deny"
    assert client.get(f"{API}/services/churn/overrides", headers=admin).json()["count"] == 0

    both = make_token("write,override", name="oncall")
    created = client.post(f"{API}/services/churn/overrides", json=override_body(), headers=both)
    assert created.status_code == 201, created.text
    assert gate(client, gate_token, "churn")["decision"] == "allow"
    # Ending an override only makes the gate stricter: write may still revoke one.
    ended = client.delete(f"{API}/services/churn/overrides/{created.json()['id']}", headers=writer)
    assert (ended.status_code, ended.json()["revoked_by"]) == (200, "dev")
    reader = make_token("read")
    assert (
        client.delete(
            f"{API}/services/churn/overrides/{created.json()['id']}", headers=reader
        ).status_code
        == 403
    )


def test_an_override_of_one_change_type(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    model(client, admin, "churn", SPENT)
    body = override_body(change_type="hotfix")
    assert client.post(f"{API}/services/churn/overrides", json=body, headers=admin).is_success
    assert gate(client, gate_token, "churn")["decision"] == "deny"
    answer = gate(client, gate_token, "churn", change_type="hotfix")
    assert (answer["decision"], answer["bypass"]) == ("allow", "override")


def test_an_expired_override_lets_nothing_through(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    model(client, admin, "churn", SPENT)
    expires = utcnow() + timedelta(seconds=1)
    body = override_body(expires_at=expires.isoformat())
    assert client.post(f"{API}/services/churn/overrides", json=body, headers=admin).is_success
    # Nothing is written when it expires: the gate checks the expiry of each request.
    time.sleep(max(0.0, (expires - utcnow()).total_seconds()) + 0.05)
    answer = gate(client, gate_token, "churn")
    assert (answer["decision"], answer["overrides"]) == ("deny", [])
    listed = client.get(f"{API}/services/churn/overrides", headers=admin).json()
    assert [o["state"] for o in listed["data"]] == ["expired"]


def hence(length: timedelta) -> str:
    return (datetime.now(UTC) + length).isoformat()


@pytest.mark.parametrize(
    ("fields", "loc", "reason"),
    [
        ({"expires_at": hence(timedelta(days=8))}, ["expires_at"], "more than 7 days out"),
        ({"expires_at": hence(-timedelta(hours=1))}, ["expires_at"], "in the past"),
        ({"expires_at": "2026-11-30T12:00:00"}, ["expires_at"], "timezone"),
        ({"reason": ""}, ["reason"], "at least 3 characters"),
        ({"change_type": "yolo"}, ["change_type"], "feature"),
    ],
    ids=["too-far", "past", "naive", "no-reason", "unknown-change-type"],
)  # fmt: skip
def test_bad_overrides_are_422_naming_the_field(
    client: TestClient, admin: Headers, fields: dict[str, Any], loc: list[str], reason: str
) -> None:
    model(client, admin, "churn", SPENT)
    response = client.post(
        f"{API}/services/churn/overrides", json=override_body(**fields), headers=admin
    )
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["loc"] == loc and reason in e["msg"] for e in errors), errors
    assert client.get(f"{API}/services/churn/overrides", headers=admin).json()["count"] == 0


def test_a_manual_freeze_denies_until_an_admin_lifts_it(
    client: TestClient,
    admin: Headers,
    gate_token: Headers,
    make_token: Callable[..., Headers],
) -> None:
    model(client, admin, "churn", HEALTHY)
    writer = make_token("write", name="dev")
    freeze = {"reason": "end-of-year change freeze"}
    assert (
        client.post(f"{API}/services/churn/freeze", json=freeze, headers=writer).status_code == 403
    )
    response = client.post(f"{API}/services/churn/freeze", json=freeze, headers=admin)
    assert response.status_code == 201, response.text
    assert (response.json()["cause"], response.json()["started_by"]) == ("manual", "admin")
    again = client.post(f"{API}/services/churn/freeze", json=freeze, headers=admin)
    assert again.status_code == 409
    assert "frozen by hand already" in again.json()["detail"]

    answer = gate(client, gate_token, "churn")
    assert (answer["decision"], answer["frozen"]) == ("deny", True)
    assert [(f["cause"], f["reason"]) for f in answer["freezes"]] == [
        ("manual", "end-of-year change freeze")
    ]
    assert answer["reasons"][0]["verdict"] == "allow"
    assert gate(client, gate_token, "churn", change_type="rollback")["decision"] == "allow"

    lifted = client.delete(f"{API}/services/churn/freeze?reason=freeze+over", headers=admin)
    assert lifted.status_code == 200, lifted.text
    assert (lifted.json()["lifted_by"], lifted.json()["lift_reason"]) == ("admin", "freeze over")
    assert gate(client, gate_token, "churn")["decision"] == "allow"
    assert (
        client.delete(f"{API}/services/churn/freeze?reason=again", headers=admin).status_code == 404
    )

    history = client.get(f"{API}/services/churn/freezes", headers=admin).json()
    assert history["count"] == 1
    assert history["data"][0]["lifted_at"] is not None
    audit = client.get(f"{API}/audit", params={"target_id": "churn"}, headers=admin).json()
    assert {"freeze.start", "freeze.lift"} <= {e["action"] for e in audit["data"]}


def test_evaluation_records_budget_freezes_and_lifts_them(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    slo_id = model(client, admin, "churn", SPENT)
    history = client.get(f"{API}/services/churn/freezes", headers=admin).json()
    (frozen,) = history["data"]
    assert (frozen["cause"], frozen["slo"], frozen["started_by"]) == (
        "budget",
        "churn:availability",
        "evaluation",
    )
    assert frozen["lifted_at"] is None
    assert "freeze threshold" in frozen["reason"]
    refused = client.delete(f"{API}/services/churn/freeze?reason=please", headers=admin)
    assert refused.status_code == 409
    assert "create an override" in refused.json()["detail"]

    # The budget recovers: a large batch of good events, then the next evaluation.
    push(client, admin, "churn:availability", range(60, 61), good=100_000, total=100_000)
    client.post(f"{API}/slos/{slo_id}/evaluate", headers=admin)
    assert gate(client, gate_token, "churn")["decision"] == "allow"
    (lifted,) = client.get(f"{API}/services/churn/freezes", headers=admin).json()["data"]
    assert (lifted["id"], lifted["lifted_by"]) == (frozen["id"], "evaluation")
    assert lifted["lifted_at"] is not None


def test_who_may_ask_the_gate(
    client: TestClient, admin: Headers, gate_token: Headers, make_token: Callable[..., Headers]
) -> None:
    model(client, admin, "churn", HEALTHY)
    assert client.get(f"{API}/gate?service=churn").status_code == 401
    bad = {"Authorization": "Bearer slo_not-a-token"}
    assert client.get(f"{API}/gate?service=churn", headers=bad).status_code == 401
    for scopes in ("gate", "read", "write"):
        headers = make_token(scopes)
        assert client.get(f"{API}/gate?service=churn", headers=headers).status_code == 200


def test_an_unknown_service_or_change_type_is_an_error(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    model(client, admin, "churn", HEALTHY)
    response = client.get(f"{API}/gate?service=chrun", headers=gate_token)
    assert response.status_code == 404
    assert "no service 'chrun'" in response.json()["detail"]
    assert "churn" in response.json()["detail"]
    response = client.get(f"{API}/gate?service=churn&change_type=yolo", headers=gate_token)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "change_type"]
    assert client.get(f"{API}/gate", headers=gate_token).status_code == 422
    freeze = {"reason": "typo"}
    response = client.post(f"{API}/services/chrun/freeze", json=freeze, headers=admin)
    assert response.status_code == 404


def test_a_service_without_gate_state_gets_one(
    client: TestClient, admin: Headers, gate_token: Headers, db: Engine
) -> None:
    """As after an upgrade from before the gate: SLOs with summaries, no gate state yet."""
    model(client, admin, "churn", SPENT)
    with session_scope(db) as session:
        session.execute(delete(ServiceGate))
    assert gate(client, gate_token, "churn")["decision"] == "deny"
    with session_scope(db) as session:
        assert session.get(ServiceGate, "churn") is not None


def test_a_change_through_another_replica_reaches_the_gate_within_its_ttl(
    client: TestClient, admin: Headers, gate_token: Headers, db: Engine, settings: Settings
) -> None:
    model(client, admin, "churn", SPENT)
    clock = [time.monotonic()]
    state_of(client.app).gate_cache.clock = lambda: clock[0]
    assert gate(client, gate_token, "churn")["decision"] == "deny"  # now a copy is kept

    other = make_engine(db.url.render_as_string(hide_password=False))  # another replica
    try:
        with session_scope(other) as session:
            body = OverrideCreate.model_validate(override_body())
            policy.create_override(session, "churn", body, actor="elsewhere", now=utcnow())
    finally:
        other.dispose()
    assert gate(client, gate_token, "churn")["decision"] == "deny"  # this copy was not told
    clock[0] += settings.gate_cache_seconds
    answer = gate(client, gate_token, "churn")
    assert (answer["decision"], answer["bypass"]) == ("allow", "override")

    # A change through this replica drops its copy at once.
    override_id = answer["override_id"]
    client.delete(f"{API}/services/churn/overrides/{override_id}", headers=admin)
    assert gate(client, gate_token, "churn")["decision"] == "deny"


def test_a_renewal_reads_only_the_states_that_moved(
    client: TestClient, admin: Headers, gate_token: Headers, db: Engine
) -> None:
    model(client, admin, "churn", SPENT)
    model(client, admin, "fraud", HEALTHY)
    with session_scope(db) as session:
        versions = policy_repo.versions(session, ["churn", "fraud"])
    token_hash = tokens.hash_token(gate_token["Authorization"].removeprefix("Bearer "))
    stale = {"churn": versions["churn"], "fraud": versions["fraud"] - 1, "gone": 1}
    changed, found = gate_service.reload(db, stale, [token_hash])
    assert set(changed) == {"fraud", "gone"}
    fraud = changed["fraud"]
    assert fraud is not None
    assert fraud[0] == versions["fraud"]
    assert [slo.name for slo in fraud[1].slos] == ["availability"]
    assert changed["gone"] is None
    assert found[token_hash].name == "ci"


def test_deleting_the_last_slo_forgets_the_service(
    client: TestClient, admin: Headers, gate_token: Headers
) -> None:
    model(client, admin, "churn", SPENT)
    assert client.delete(f"{API}/slos/churn:availability", headers=admin).status_code == 204
    # Its budget freeze lifted with it; the gate no longer knows the service.
    assert client.get(f"{API}/gate?service=churn", headers=gate_token).status_code == 404
    history = client.get(f"{API}/services/churn/freezes", headers=admin).json()
    assert history["data"][0]["lifted_at"] is not None


def test_deploy_records(
    client: TestClient, admin: Headers, gate_token: Headers, make_token: Callable[..., Headers]
) -> None:
    deploy = {"service": "churn", "version": "1.4.2", "commit": "a1b2c3d", "environment": "prod"}
    response = client.post(f"{API}/deployments", json=deploy, headers=gate_token)
    assert response.status_code == 201, response.text
    recorded = response.json()
    assert (recorded["recorded_by"], recorded["change_type"]) == ("ci", "feature")
    assert recorded["deployed_at"] == recorded["recorded_at"]
    earlier = {**deploy, "version": "1.4.1", "deployed_at": minute_ago(60)}
    assert client.post(f"{API}/deployments", json=earlier, headers=admin).status_code == 201
    other = {**deploy, "service": "fraud"}
    assert client.post(f"{API}/deployments", json=other, headers=admin).status_code == 201

    reader = make_token("read")
    refused = client.post(f"{API}/deployments", json=deploy, headers=reader)
    assert refused.status_code == 403
    assert "gate or write" in refused.json()["detail"]
    bad = client.post(f"{API}/deployments", json={**deploy, "commit": "xyz"}, headers=admin)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["commit"]

    listed = client.get(f"{API}/deployments?service=churn", headers=reader).json()
    assert listed["count"] == 2
    assert [d["version"] for d in listed["data"]] == ["1.4.2", "1.4.1"]  # newest first
