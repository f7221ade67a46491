"""SLO definitions over HTTP, on SQLite and on Postgres (the ``db`` fixture's two params)."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

API = "/api/v1/slos"
Headers = dict[str, str]


def latency_slo(**fields: Any) -> dict[str, Any]:
    return {
        "service": "churn-model",
        "name": "latency",
        "kind": "latency",
        "objective": 0.95,
        "window": "7d",
        "params": {"threshold_ms": 500},
        "labels": {"team": "ml", "tier": "1"},
        **fields,
    }


def create(client: TestClient, headers: Headers, **fields: Any) -> dict[str, Any]:
    response = client.post(API, json=latency_slo(**fields), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_expands_the_kind_and_get_returns_it(client: TestClient, admin: Headers) -> None:
    created = create(client, admin)
    assert created["sli"] == {
        "source": "prometheus",
        "type": "latency",
        "histogram": 'ml_prediction_duration_seconds{model_name="churn-model"}',
        "threshold_seconds": 0.5,
    }
    assert created["budgeting"] == "occurrences"
    assert created["objective_percent"] == 95.0
    # Nothing set: every gate setting comes from the service's policy, then the defaults.
    assert set(created["gate"].values()) == {None}
    fetched = client.get(f"{API}/{created['id']}", headers=admin).json()
    assert fetched == created


def test_objective_percent_is_stored_as_a_fraction(client: TestClient, admin: Headers) -> None:
    slo = create(client, admin, objective=None, objective_percent=99.9)
    assert slo["objective"] == pytest.approx(0.999)
    assert slo["objective_percent"] == pytest.approx(99.9)


def test_lookup_by_id_service_name_and_unique_name(client: TestClient, admin: Headers) -> None:
    first = create(client, admin)
    other = create(client, admin, service="fraud-model")
    assert client.get(f"{API}/churn-model:latency", headers=admin).json()["id"] == first["id"]
    assert client.get(f"{API}/fraud-model:latency", headers=admin).json()["id"] == other["id"]
    ambiguous = client.get(f"{API}/latency", headers=admin)
    assert ambiguous.status_code == 409
    assert "churn-model:latency" in ambiguous.json()["detail"]
    unique = create(client, admin, name="latency-strict")
    assert client.get(f"{API}/latency-strict", headers=admin).json()["id"] == unique["id"]
    missing = client.get(f"{API}/999999", headers=admin)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "NotFound",
        "detail": "no SLO '999999': give its numeric id, service:name, or a unique name",
    }


def test_list_filters_and_pages(client: TestClient, admin: Headers) -> None:
    for index in range(5):
        create(client, admin, name=f"latency-{index}", labels={"team": "ml" if index % 2 else "x"})
    create(client, admin, service="fraud-model", kind="availability", params={}, labels={})
    everything = client.get(API, headers=admin).json()
    assert everything["count"] == 6
    page = client.get(API, params={"limit": 2, "offset": 2}, headers=admin).json()
    assert page["count"] == 6
    assert [s["name"] for s in page["data"]] == ["latency-2", "latency-3"]
    by_service = client.get(API, params={"service": "fraud-model"}, headers=admin).json()
    assert [s["kind"] for s in by_service["data"]] == ["availability"]
    by_kind = client.get(API, params={"kind": "latency"}, headers=admin).json()
    assert by_kind["count"] == 5
    by_label = client.get(API, params={"label": "team=ml"}, headers=admin).json()
    assert sorted(s["name"] for s in by_label["data"]) == ["latency-1", "latency-3"]
    both = client.get(API, params=[("label", "team=ml"), ("label", "tier=2")], headers=admin)
    assert both.json()["count"] == 0
    bad = client.get(API, params={"label": "team"}, headers=admin)
    assert bad.status_code == 422
    assert "key=value" in bad.json()["detail"]
    bad_kind = client.get(API, params={"kind": "speed"}, headers=admin)
    assert bad_kind.status_code == 422


def test_put_replaces_and_patch_merges(client: TestClient, admin: Headers) -> None:
    slo = create(client, admin)
    replaced = client.put(
        f"{API}/{slo['id']}",
        json=latency_slo(objective=0.99, params={"threshold_ms": 250}, labels={}),
        headers=admin,
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["sli"]["threshold_seconds"] == 0.25
    assert replaced.json()["labels"] == {}
    patched = client.patch(
        f"{API}/{slo['id']}",
        json={"params": {"threshold_ms": 300}, "labels": {"team": "ml"}, "objective_percent": 98},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["sli"]["threshold_seconds"] == 0.3
    assert body["objective"] == pytest.approx(0.98)
    assert body["labels"] == {"team": "ml"}
    assert body["window"] == "7d"
    removed = client.patch(f"{API}/{slo['id']}", json={"labels": {"team": None}}, headers=admin)
    assert removed.json()["labels"] == {}


def test_patch_can_switch_to_calendar_window(client: TestClient, admin: Headers) -> None:
    slo = create(client, admin)
    response = client.patch(
        f"{API}/{slo['id']}", json={"window": "month", "timezone": "Europe/Berlin"}, headers=admin
    )
    assert response.status_code == 200, response.text
    assert (response.json()["window"], response.json()["timezone"]) == ("month", "Europe/Berlin")


BAD_INPUT = [
    ({"objective": 1.5}, ["objective"], "between 0 and 1"),
    ({"objective": 0}, ["objective"], "between 0 and 1"),
    ({"objective": None, "objective_percent": 120}, ["objective_percent"], "between 0 and 100"),
    ({"objective_percent": 99}, [], "not both"),
    ({"kind": "speed"}, ["kind"], "availability"),
    ({"window": "30x"}, ["window"], "is not a window"),
    ({"params": {}}, ["params", "threshold_ms"], "Field required"),
    ({"params": {"threshold_ms": "fast"}}, ["params", "threshold_ms"], "valid number"),
    ({"name": "Latency P95"}, ["name"], "not a slug"),
    ({"windw": "7d"}, ["windw"], "windw: unknown field 'windw' (did you mean 'window'?)"),
    ({"timezone": "Europe/Berlin"}, ["timezone"], "calendar windows only"),
    ({"window": "month", "timezone": "Nowhere/City"}, ["timezone"], "IANA"),
    (
        {"kind": "custom", "params": {}, "sli": {"type": "threshold", "query": "sum(x",
                                                  "op": ">", "threshold": 1}},
        ["sli", "query"],
        "never closed",
    ),
    (
        {"kind": "availability", "params": {}, "sli": {"good": 'x{a="1"'}},
        ["sli", "good"],
        "never closed",
    ),
    ({"gate": {"freeze_threshold": 0.5, "warn_threshold": 0.2}}, ["gate"], "freeze_threshold"),
    (
        {"alerting": {"tiers": [{"severity": "page", "long_window": "5m",
                                 "short_window": "1h", "budget_spent": 0.02}]}},
        ["alerting", "tiers", 0],
        "shorter than long_window",
    ),
    ({"no_data": "skip"}, ["no_data"], "'ignore', 'good' or 'bad'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "loc", "reason"),
    BAD_INPUT,
    ids=[
        "objective-above-1",
        "objective-zero",
        "percent-above-100",
        "both-objectives",
        "unknown-kind",
        "window-30x",
        "latency-without-threshold",
        "threshold-not-number",
        "name-not-slug",
        "typo-field",
        "timezone-on-rolling",
        "unknown-timezone",
        "unbalanced-promql",
        "unbalanced-selector",
        "gate-order",
        "tier-order",
        "no-data-policy",
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, admin: Headers, fields: dict[str, Any], loc: list[Any], reason: str
) -> None:
    response = client.post(API, json=latency_slo(**fields), headers=admin)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert loc in [error["loc"] for error in body["errors"]], body
    assert reason in body["detail"]
    assert client.get(API, headers=admin).json()["count"] == 0


UNKNOWN_FIELDS = [
    ({"objectve": 0.99}, ["objectve"], "unknown field 'objectve' (did you mean 'objective'?)"),
    ({"foo": 1}, ["foo"], "unknown field 'foo'"),  # too many fields to list
    (
        {"gate": {"freeze_treshold": 0.1}},
        ["gate", "freeze_treshold"],
        "unknown field 'freeze_treshold' (did you mean 'freeze_threshold'?)",
    ),
    (
        {"gate": {"frozen": True}},
        ["gate", "frozen"],
        "unknown field 'frozen': the fields are gating, freeze_threshold, warn_threshold, "
        "stale_policy, staleness_limit",
    ),
    (
        {"alerting": {"tiers": [{"severity": "page", "long_window": "1h",
                                 "short_window": "5m", "facter": 14.4}]}},
        ["alerting", "tiers", 0, "facter"],
        "unknown field 'facter' (did you mean 'factor'?)",
    ),
    (
        {"params": {"threshold_msec": 500}},
        ["params", "threshold_msec"],
        "unknown field 'threshold_msec' (did you mean 'threshold_ms'?)",
    ),
    (
        {"sli": {"histgram": "x"}},
        ["sli", "histgram"],
        "unknown field 'histgram' (did you mean 'histogram'?)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "loc", "msg"),
    UNKNOWN_FIELDS,
    ids=["top-level", "no-close-match", "nested", "nested-listed", "in-a-list", "params", "sli"],
)
def test_an_unknown_field_names_the_field_meant(
    client: TestClient, admin: Headers, fields: dict[str, Any], loc: list[Any], msg: str
) -> None:
    """Found in the model at the field's place: the SLO's, its gate's, a tier's, the kind's
    params' or the SLI's (each a different model)."""
    response = client.post(API, json=latency_slo(**fields), headers=admin)
    assert response.status_code == 422, response.text
    assert {"loc": loc, "msg": msg} in response.json()["errors"]
    assert client.get(API, headers=admin).json()["count"] == 0


def test_an_unknown_field_of_a_patch_names_the_field_meant(
    client: TestClient, admin: Headers
) -> None:
    slo = create(client, admin)
    response = client.patch(f"{API}/{slo['id']}", json={"windw": "7d"}, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [
        {"loc": ["windw"], "msg": "unknown field 'windw' (did you mean 'window'?)"}
    ]
    nested = client.patch(f"{API}/{slo['id']}", json={"gate": {"warn_treshold": 0.2}},
                          headers=admin)  # fmt: skip
    assert nested.json()["errors"] == [
        {
            "loc": ["gate", "warn_treshold"],
            "msg": "unknown field 'warn_treshold' (did you mean 'warn_threshold'?)",
        }
    ]


def test_body_that_is_not_json(client: TestClient, admin: Headers) -> None:
    response = client.post(
        API, content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]


def test_rejected_update_changes_nothing(client: TestClient, admin: Headers) -> None:
    slo = create(client, admin)
    response = client.put(f"{API}/{slo['id']}", json=latency_slo(objective=2), headers=admin)
    assert response.status_code == 422
    patch = client.patch(f"{API}/{slo['id']}", json={"window": "30x"}, headers=admin)
    assert patch.status_code == 422
    assert patch.json()["errors"][0]["loc"] == ["window"]
    assert client.get(f"{API}/{slo['id']}", headers=admin).json() == slo


def test_duplicate_name_is_409_and_reusable_after_delete(
    client: TestClient, admin: Headers
) -> None:
    slo = create(client, admin)
    duplicate = client.post(API, json=latency_slo(), headers=admin)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "Conflict"
    assert f"id {slo['id']}" in duplicate.json()["detail"]
    other = create(client, admin, name="latency-2")
    renamed = client.patch(f"{API}/{other['id']}", json={"name": "latency"}, headers=admin)
    assert renamed.status_code == 409
    assert client.delete(f"{API}/{slo['id']}", headers=admin).status_code == 204
    again = create(client, admin)
    assert again["id"] != slo["id"]


def test_delete_is_soft_audited_and_purge_needs_admin(
    client: TestClient, admin: Headers, make_token: Callable[..., Headers]
) -> None:
    writer = make_token("write", name="writer")
    slo = create(client, writer)
    assert client.delete(f"{API}/{slo['id']}", headers=writer).status_code == 204
    assert client.get(f"{API}/{slo['id']}", headers=writer).status_code == 404
    assert client.delete(f"{API}/{slo['id']}", headers=writer).status_code == 404
    log = client.get(
        "/api/v1/audit", params={"target_type": "slo", "target_id": slo["id"]}, headers=admin
    ).json()
    assert [(e["action"], e["actor"]) for e in log["data"]] == [
        ("slo.delete", "writer"),
        ("slo.create", "writer"),
    ]
    refused = client.delete(f"{API}/{slo['id']}", params={"purge": True}, headers=writer)
    assert refused.status_code == 403
    purged = client.delete(f"{API}/{slo['id']}", params={"purge": True}, headers=admin)
    assert purged.status_code == 204
    actions = client.get(
        "/api/v1/audit", params={"target_type": "slo", "target_id": slo["id"]}, headers=admin
    ).json()
    assert actions["data"][0]["action"] == "slo.purge"


def test_every_change_is_audited_with_what_changed(
    client: TestClient, admin: Headers, make_token: Callable[..., Headers]
) -> None:
    alice = make_token("write", name="alice")
    slo = create(client, alice)
    client.patch(f"{API}/{slo['id']}", json={"objective": 0.97}, headers=alice)
    client.patch(f"{API}/{slo['id']}", json={"objective": 0.97}, headers=alice)  # no change
    entries = client.get(
        "/api/v1/audit", params={"target_type": "slo", "target_id": slo["id"]}, headers=admin
    ).json()
    assert entries["count"] == 2
    update, creation = entries["data"]
    assert update["action"] == "slo.update"
    assert update["actor"] == "alice"
    assert update["target"] == "churn-model:latency"
    assert update["changes"] == {"objective": {"from": 0.95, "to": 0.97}}
    assert creation["changes"]["effective_sli"]["threshold_seconds"] == 0.5
    assert client.get("/api/v1/audit", headers=alice).status_code == 403
