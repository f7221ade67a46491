"""Bearer tokens and scopes, on both backends."""

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import session_scope, utcnow
from slo_service.domain.scopes import Scope
from slo_service.services import tokens

API = "/api/v1/slos"
Headers = dict[str, str]
SLO = {"service": "m", "name": "avail", "kind": "availability", "objective": 0.99}


def test_missing_token_is_401_with_a_challenge(client: TestClient) -> None:
    response = client.get(API)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "error": "Unauthorized",
        "detail": "this needs an API token with the read scope, "
        "sent as 'Authorization: Bearer <token>'",
    }


def test_unknown_and_malformed_tokens_are_401(client: TestClient) -> None:
    unknown = client.get(API, headers={"Authorization": "Bearer slo_not-a-token"})
    assert unknown.status_code == 401
    assert "unknown API token" in unknown.json()["detail"]
    basic = client.get(API, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    assert "'Authorization: Bearer <token>'" in basic.json()["detail"]


def test_scopes_decide_what_a_token_may_do(
    client: TestClient, make_token: Callable[..., Headers]
) -> None:
    reader, writer, gate = make_token("read"), make_token("write"), make_token("gate")
    forbidden = client.post(API, json=SLO, headers=reader)
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"].endswith("this needs write")
    assert client.post(API, json=SLO, headers=writer).status_code == 201
    assert client.get(API, headers=reader).status_code == 200
    assert client.get(API, headers=writer).status_code == 200
    assert client.get(API, headers=gate).status_code == 403
    assert client.get("/api/v1/audit", headers=writer).status_code == 403


def test_revoked_and_expired_tokens_are_refused(
    client: TestClient, db: Engine, make_token: Callable[..., Headers]
) -> None:
    headers = make_token("read", name="ci")
    assert client.get(API, headers=headers).status_code == 200
    with session_scope(db) as session:
        tokens.revoke(session, name="ci", actor="tests")
    revoked = client.get(API, headers=headers)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["detail"]
    with session_scope(db) as session:
        _, plaintext = tokens.create(
            session,
            name="old",
            scopes=[Scope.READ],
            expires_at=utcnow() - timedelta(seconds=1),
            actor="tests",
        )
    expired = client.get(API, headers={"Authorization": f"Bearer {plaintext}"})
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


def test_tokens_are_stored_hashed(db: Engine) -> None:
    with session_scope(db) as session:
        row, plaintext = tokens.create(session, name="x", scopes=[Scope.READ], actor="tests")
    assert plaintext.startswith("slo_")
    assert len(plaintext) > 40
    assert plaintext not in (row.token_hash, row.prefix)
    assert row.token_hash == tokens.hash_token(plaintext)


def test_public_read_opens_reads_only(settings: Settings, db: Engine) -> None:
    public = settings.model_copy(update={"public_read": True})
    with TestClient(create_app(public, engine=db)) as client:
        assert client.get(API).status_code == 200
        assert client.post(API, json=SLO).status_code == 401
        assert client.get("/api/v1/audit").status_code == 401
        bad = client.get(API, headers={"Authorization": "Bearer slo_wrong"})
        assert bad.status_code == 401
