"""Signing in to the SLA pages as a browser expects, on both backends: security headers on every
answer, POST /login refused from another site and without the form's CSRF token, sign-out by
POST only, and a cookie that carries a read-only server-side session instead of the API token."""

import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import session_scope, utcnow
from slo_service.domain.scopes import Scope
from slo_service.models import PageSession
from slo_service.services import tokens

Headers = dict[str, str]
SESSION = "slo_session"
SAME_SITE = {"Origin": "http://testserver"}  # the TestClient's own origin


def plain(headers: Headers) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def form_csrf(html: str) -> str:
    found = re.search(r'<input type="hidden" name="csrf" value="([^"]+)">', html)
    assert found, "the sign-in form has no CSRF token"
    return found.group(1)


def sign_in(
    client: TestClient, token: str, *, next: str = "/", headers: Headers | None = None
) -> httpx.Response:
    """Load the form (its CSRF cookie), then post it as the browser would."""
    csrf = form_csrf(client.get("/login", params={"next": next}).text)
    data = {"token": token, "next": next, "csrf": csrf}
    answer: httpx.Response = client.post(
        "/login", data=data, headers=headers or {}, follow_redirects=False
    )
    return answer


def session_rows(db: Engine) -> list[PageSession]:
    with Session(db) as session:
        return list(session.exec(select(PageSession)).all())


@pytest.fixture
def reader(make_token: Callable[..., Headers]) -> str:
    return plain(make_token("read", name="exec"))


SECURITY_PATHS = ["/login", "/", "/reports/monthly", "/static/style.css", "/api/v1/slos",
                  "/healthz", "/no-such-page"]  # fmt: skip


@pytest.mark.parametrize("path", SECURITY_PATHS, ids=SECURITY_PATHS)
def test_every_answer_carries_the_security_headers(
    client: TestClient, admin: Headers, path: str
) -> None:
    answer = client.get(path, headers=admin)
    csp = answer.headers.get("content-security-policy", "")
    directives = dict(d.strip().partition(" ")[::2] for d in csp.split(";"))
    assert directives.get("default-src") == "'self'"
    assert directives.get("frame-ancestors") == "'none'"
    assert directives.get("form-action") == "'self'"
    assert directives.get("object-src") == "'none'"
    assert "unsafe-inline" not in csp
    assert answer.headers.get("x-frame-options") == "DENY"
    assert answer.headers.get("x-content-type-options") == "nosniff"
    assert answer.headers.get("referrer-policy") == "same-origin"


def test_the_api_docs_get_their_own_policy_and_the_same_other_headers(client: TestClient) -> None:
    """Swagger UI loads from its CDN and starts with an inline script: the docs (which render
    nothing but the OpenAPI schema) get a policy that allows exactly that, never framing."""
    answer = client.get("/docs")
    csp = answer.headers["content-security-policy"]
    assert "https://cdn.jsdelivr.net" in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "cdn.jsdelivr.net" not in client.get("/login").headers["content-security-policy"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver:8080"},  # same host, another port: another origin
        {"Origin": "https://testserver"},  # another scheme
        {"Origin": "null"},  # what a sandboxed or no-referrer page sends
        {"Referer": "https://evil.example/sign-me-in"},
    ],
    ids=["other-site", "other-port", "other-scheme", "null-origin", "referer-only"],
)
def test_a_cross_site_sign_in_is_refused(
    client: TestClient, db: Engine, reader: str, headers: Headers
) -> None:
    """Login CSRF: another site's form must not sign the reader in as the attacker."""
    csrf = form_csrf(client.get("/login").text)
    answer = client.post("/login", data={"token": reader, "next": "/", "csrf": csrf},
                         headers=headers, follow_redirects=False)  # fmt: skip
    assert answer.status_code == 403
    assert answer.json()["error"] == "Forbidden"
    assert "another site" in answer.json()["detail"]
    assert SESSION not in answer.headers.get("set-cookie", "")
    assert session_rows(db) == []


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://testserver"}, {"Origin": "http://127.0.0.1:8000"},
     {"Referer": "http://testserver/login?next=/"}, {}],
    ids=["own-origin", "public-base-url", "own-referer", "no-origin-nor-referer"],
)  # fmt: skip
def test_a_same_site_sign_in_is_let_in(client: TestClient, reader: str, headers: Headers) -> None:
    """Our own origin, SLO_PUBLIC_BASE_URL's (the default here), or no header at all (no
    browser posts a form without Origin; the CSRF token still has to match)."""
    answer = sign_in(client, reader, next="/reports/monthly", headers=headers)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/reports/monthly"


def test_sign_in_needs_the_forms_csrf_token(client: TestClient, db: Engine, reader: str) -> None:
    missing = client.post("/login", data={"token": reader, "next": "/"}, headers=SAME_SITE)
    assert missing.status_code == 403
    assert "sign-in form" in missing.text
    form_csrf(missing.text)  # a fresh form to try again with
    client.get("/login")
    wrong = client.post("/login", data={"token": reader, "next": "/", "csrf": "forged"},
                        headers=SAME_SITE)  # fmt: skip
    assert wrong.status_code == 403
    assert session_rows(db) == []
    assert sign_in(client, reader, headers=SAME_SITE).status_code == 303
    assert len(session_rows(db)) == 1


def test_sign_out_is_a_post_that_ends_the_session(
    client: TestClient, db: Engine, reader: str
) -> None:
    by_get = client.get("/logout", follow_redirects=False)
    assert by_get.status_code == 405
    assert by_get.json() == {"error": "MethodNotAllowed", "detail": "Method Not Allowed"}
    signed = sign_in(client, reader, headers=SAME_SITE)
    cookie = signed.cookies[SESSION]
    assert client.get("/logout", follow_redirects=False).status_code == 405
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
    page = client.get("/").text
    assert '<form class="signout" method="post" action="/logout">' in page

    cross = client.post("/logout", headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200

    out = client.post("/logout", headers=SAME_SITE, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert f'{SESSION}=""' in out.headers["set-cookie"]  # deleted in the browser
    (row,) = session_rows(db)
    assert row.revoked_at is not None  # and on the server: the old cookie is worth nothing
    client.cookies.set(SESSION, cookie)
    away = client.get("/", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"].startswith("/login")


def test_the_cookie_holds_a_read_only_session_not_the_token(
    client: TestClient, db: Engine, admin: Headers
) -> None:
    """Even an admin's sign-in stores only a random session id that reads pages."""
    token = plain(admin)
    signed = sign_in(client, token, headers=SAME_SITE)
    assert signed.status_code == 303
    set_cookie = signed.headers["set-cookie"]
    assert token not in set_cookie
    assert tokens.hash_token(token) not in set_cookie
    cookie = signed.cookies[SESSION]
    assert len(cookie) >= 40  # 256 random bits
    assert "httponly" in set_cookie.lower()
    assert "samesite=strict" in set_cookie.lower()
    max_age = int(re.search(r"Max-Age=(\d+)", set_cookie, re.I).group(1))  # type: ignore[union-attr]
    assert max_age == 12 * 3600  # SLO_SESSION_HOURS, not 30 days
    (row,) = session_rows(db)
    assert row.session_hash == hashlib.sha256(cookie.encode()).hexdigest()
    assert cookie not in (row.session_hash, row.token_name)
    assert row.token_name == "admin"

    assert client.get("/", follow_redirects=False).status_code == 200
    # The session reads pages and nothing else: the API does not take it, as cookie or bearer.
    for method, path in [("GET", "/api/v1/audit"), ("GET", "/api/v1/slos"),
                         ("POST", "/api/v1/services/churn/freeze")]:  # fmt: skip
        assert client.request(method, path, json={"reason": "x"}).status_code == 401, path
        bearer = {"Authorization": f"Bearer {cookie}"}
        assert client.request(method, path, headers=bearer, json={}).status_code == 401, path


def test_sessions_end_with_their_token_and_at_their_expiry(
    client: TestClient, db: Engine, reader: str
) -> None:
    assert sign_in(client, reader, headers=SAME_SITE).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    with session_scope(db) as session:
        session.execute(update(PageSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/", follow_redirects=False).status_code == 303

    assert sign_in(client, reader, headers=SAME_SITE).status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 200
    with session_scope(db) as session:
        tokens.revoke(session, name="exec", actor="tests")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert all(row.revoked_at is not None for row in session_rows(db) if row.expires_at > utcnow())
    refused = sign_in(client, reader, headers=SAME_SITE)
    assert refused.status_code == 401
    assert "revoked" in refused.text


@pytest.fixture
def short_sessions(settings: Settings, db: Engine) -> Iterator[TestClient]:
    short = settings.model_copy(update={"session_hours": 0.5})
    with TestClient(create_app(short, engine=db)) as test_client:
        yield test_client


def test_the_session_lasts_session_hours_and_no_longer_than_its_token(
    short_sessions: TestClient, db: Engine, make_token: Callable[..., Headers]
) -> None:
    signed = sign_in(short_sessions, plain(make_token("read", name="half-hour")), headers=SAME_SITE)
    assert "Max-Age=1800" in signed.headers["set-cookie"]
    with session_scope(db) as session:
        soon_at = utcnow() + timedelta(minutes=5)
        _, soon = tokens.create(
            session, name="soon", scopes=[Scope.READ], expires_at=soon_at, actor="tests"
        )
    signed = sign_in(short_sessions, soon, headers=SAME_SITE)
    max_age = int(re.search(r"Max-Age=(\d+)", signed.headers["set-cookie"]).group(1))  # type: ignore[union-attr]
    assert 0 < max_age <= 300


def test_a_gate_token_cannot_sign_in(
    client: TestClient, make_token: Callable[..., Headers]
) -> None:
    refused = sign_in(client, plain(make_token("gate")), headers=SAME_SITE)
    assert refused.status_code == 403
    assert "this needs read" in refused.text
    assert SESSION not in refused.headers.get("set-cookie", "")
