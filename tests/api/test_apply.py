"""``POST /api/v1/apply``: many SLOs by (service, name), all or nothing."""

from typing import Any

from fastapi.testclient import TestClient

Headers = dict[str, str]


def slo(name: str, service: str = "churn-model", **fields: Any) -> dict[str, Any]:
    return {"service": service, "name": name, "kind": "availability", "objective": 0.99, **fields}


def apply(client: TestClient, headers: Headers, slos: list[Any], **flags: bool) -> Any:
    return client.post("/api/v1/apply", json={"slos": slos, **flags}, headers=headers)


def names(client: TestClient, headers: Headers) -> list[str]:
    body = client.get("/api/v1/slos", headers=headers).json()
    return sorted(f"{s['service']}:{s['name']}" for s in body["data"])


def test_creates_updates_leaves_and_prunes(client: TestClient, admin: Headers) -> None:
    first = apply(client, admin, [slo("a"), slo("b"), slo("c", service="other")])
    assert first.status_code == 200, first.text
    assert first.json()["summary"] == {"create": 3, "update": 0, "delete": 0, "unchanged": 0}

    second = apply(client, admin, [slo("a", objective=0.995), slo("b")])
    assert second.json()["summary"] == {"create": 0, "update": 1, "delete": 0, "unchanged": 1}
    update = second.json()["changes"][0]
    assert update["changes"]["objective"] == {"from": 0.99, "to": 0.995}

    plan = apply(client, admin, [slo("a", objective=0.995)], prune=True, dry_run=True)
    assert plan.json()["summary"] == {"create": 0, "update": 0, "delete": 1, "unchanged": 1}
    assert names(client, admin) == ["churn-model:a", "churn-model:b", "other:c"]

    pruned = apply(client, admin, [slo("a", objective=0.995)], prune=True)
    assert pruned.json()["changes"][-1]["name"] == "b"
    assert names(client, admin) == ["churn-model:a", "other:c"]  # other service untouched


def test_dry_run_writes_nothing(client: TestClient, admin: Headers) -> None:
    plan = apply(client, admin, [slo("a"), slo("b")], dry_run=True)
    assert plan.json()["dry_run"] is True
    assert [c["action"] for c in plan.json()["changes"]] == ["create", "create"]
    assert names(client, admin) == []


def test_one_bad_item_rejects_all_and_names_every_problem(
    client: TestClient, admin: Headers
) -> None:
    apply(client, admin, [slo("a")])
    response = apply(
        client,
        admin,
        [slo("a", objective=0.5), slo("b", objective=7), slo("c", window="30x"), slo("b")],
    )
    assert response.status_code == 422
    locs = [error["loc"] for error in response.json()["errors"]]
    assert ["slos[1]", "objective"] in locs
    assert ["slos[2]", "window"] in locs
    body = client.get("/api/v1/slos/churn-model:a", headers=admin).json()
    assert body["objective"] == 0.99  # the valid update in the same request did not land
    assert names(client, admin) == ["churn-model:a"]


def test_the_same_slo_twice_is_refused(client: TestClient, admin: Headers) -> None:
    response = apply(client, admin, [slo("a"), slo("a", objective=0.9)])
    assert response.status_code == 422
    assert "given twice (also slos[0])" in response.json()["detail"]


def test_an_unknown_field_names_the_field_meant(client: TestClient, admin: Headers) -> None:
    response = apply(client, admin, [slo("a")], dry_runn=True)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["dry_runn"], "msg": "unknown field 'dry_runn' (did you mean 'dry_run'?)"}
    ]
    response = apply(client, admin, [slo("a", gate={"freeze_treshold": 0})])
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "loc": ["slos[0]", "gate", "freeze_treshold"],
            "msg": "unknown field 'freeze_treshold' (did you mean 'freeze_threshold'?)",
        }
    ]
