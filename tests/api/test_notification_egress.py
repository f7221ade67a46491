"""Where notifications may go, over HTTP on both backends: channel URLs on loopback, private,
link-local or unspecified addresses (however spelled) refused when a route is saved and again
when a message is sent, the allow-list setting for intranet receivers, and answers and
``last_error`` that keep the receiver's status but never its body.

Every receiver here is on loopback; the private and link-local cases are only ever saved
(refused before any connection), never sent to."""

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from slo_service.api.state import state_of
from slo_service.app import create_app
from slo_service.config import Settings
from slo_service.db import session_scope
from slo_service.notify import registry
from slo_service.notify.egress import IPAddress
from slo_service.schemas.notify import RouteIn
from slo_service.services.alerting import routes
from slo_service.services.alerting.delivery import Sender
from tests.services.test_delivery import enqueue
from tests.support.receivers import Listener, Receiver

Headers = dict[str, str]
URL = "/api/v1/notification-routes"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
SECRET_BODY = "db-password=hunter2 internal-token=5f3c9a"  # what a receiver must not leak
NOW = datetime.now(UTC).replace(microsecond=0)


def app_client(settings: Settings, db: Engine, **changes: Any) -> TestClient:
    values = {
        "database_url": settings.database_url,
        "prometheus_url": settings.prometheus_url,
        "scheduler": False,
        "notify_timeout_seconds": 1.0,  # a listener that never answers costs 1 s, not 5
        **changes,
    }
    return TestClient(create_app(Settings(**values), engine=db))


@pytest.fixture
def strict(settings: Settings, db: Engine) -> Iterator[TestClient]:
    """The app as shipped: no allow-list."""
    with app_client(settings, db, notify_allowed_networks=[]) as client:
        yield client


@pytest.fixture
def intranet(settings: Settings, db: Engine) -> Iterator[TestClient]:
    """The app with 127.0.0.1 and ::1 allowed, as an intranet's receivers would be."""
    with app_client(settings, db, notify_allowed_networks="127.0.0.1/32,::1") as client:
        yield client


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener("127.0.0.1") as running:
        yield running


@pytest.fixture
def listener6() -> Iterator[Listener]:
    with Listener("::1") as running:
        yield running


def webhook_route(url: str, name: str = "hooks") -> dict[str, Any]:
    return {"name": name, "default": True,
            "channels": [{"type": "pagerduty", "routing_key": ROUTING_KEY},
                         {"type": "webhook", "url": url}]}  # fmt: skip


# (host as written in the URL, the kind of address it is): every spelling of loopback that
# getaddrinfo reads (decimal, hex, short and octal IPv4, names from /etc/hosts, IPv6 and
# IPv4-mapped forms), the unspecified address (0.0.0.0 reaches this host's own listeners),
# and private and link-local addresses (the cloud metadata service).
REFUSED = [
    ("127.0.0.1", "loopback"),
    ("2130706433", "loopback"),
    ("0x7f.1", "loopback"),
    ("127.1", "loopback"),
    ("0177.0.0.1", "loopback"),
    ("localhost", "loopback"),
    ("LocalHost", "loopback"),
    ("[::1]", "loopback"),
    ("[::ffff:127.0.0.1]", "loopback"),
    ("[::ffff:7f00:1]", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("[::]", "unspecified"),
    ("10.1.2.3", "private"),
    ("192.168.0.10", "private"),
    ("[fd00::1]", "private"),
    ("169.254.169.254", "link-local"),
    ("[fe80::1]", "link-local"),
    ("224.0.0.1", "multicast"),
    ("100.64.0.1", "not publicly routable"),
]


@pytest.mark.parametrize(("host", "kind"), REFUSED, ids=[host for host, _ in REFUSED])
def test_a_route_to_a_refused_address_is_a_422(
    strict: TestClient, admin: Headers, host: str, kind: str
) -> None:
    url = f"http://{host}:8080/hooks/slo?token=s3cr3t-t0k3n"
    answer = strict.post(URL, json=webhook_route(url), headers=admin)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "InvalidInput"
    (error,) = body["errors"]
    assert error["loc"] == ["channels", 1, "url"]
    assert f"is {kind}" in error["msg"]
    assert "SLO_NOTIFY_ALLOWED_NETWORKS" in error["msg"]
    assert body["detail"].startswith("channels[1].url: ")
    assert "s3cr3t-t0k3n" not in answer.text  # the URL is a secret: never quoted back
    assert strict.get(URL, headers=admin).json()["count"] == 0


def test_a_slack_webhook_on_loopback_is_a_422_naming_its_field(
    strict: TestClient, admin: Headers
) -> None:
    body = {"name": "slack", "channels": [
        {"type": "pagerduty", "routing_key": ROUTING_KEY},
        {"type": "slack", "webhook_url": "http://2130706433/services/T0/B0/XXXX"}]}  # fmt: skip
    answer = strict.post(URL, json=body, headers=admin)
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    assert error["loc"] == ["channels", 1, "webhook_url"]
    assert "address 127.0.0.1 is loopback" in error["msg"]
    assert "XXXX" not in answer.text


def test_replacing_a_route_checks_its_urls_again(strict: TestClient, admin: Headers) -> None:
    pagerduty_only = {"name": "hooks", "channels": [{"type": "pagerduty",
                                                     "routing_key": ROUTING_KEY}]}  # fmt: skip
    assert strict.post(URL, json=pagerduty_only, headers=admin).status_code == 201
    answer = strict.put(f"{URL}/hooks", json=webhook_route("http://127.1/h"), headers=admin)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["channels", 1, "url"]
    kept = strict.get(f"{URL}/hooks", headers=admin).json()
    assert [c["type"] for c in kept["channels"]] == ["pagerduty"]


def stored_route(db: Engine, body: dict[str, Any]) -> int:
    """A route stored without the API's checks: saved before the policy existed, or a name
    whose address changed since."""
    with session_scope(db) as session:
        row = routes.create(session, RouteIn.model_validate(body), actor="tests", now=NOW)
        assert row.id is not None
        return row.id


def deliver(client: TestClient, db: Engine) -> dict[str, int]:
    notifiers = state_of(client.app).notifiers
    sender = Sender(db, notifiers, base_url="https://slo.example.com", owner="tests")
    return sender.run_once(now=NOW)


def test_stored_loopback_urls_are_refused_when_sent_and_connect_nowhere(
    strict: TestClient, admin: Headers, db: Engine, listener: Listener, listener6: Listener
) -> None:
    spellings = [f"http://2130706433:{listener.port}/h", f"http://localhost:{listener.port}/h",
                 f"http://[::ffff:127.0.0.1]:{listener.port}/h", f"http://[::1]:{listener6.port}/h",
                 f"http://0x7f.1:{listener.port}/h"]  # fmt: skip
    route_id = stored_route(db, {"name": "hooks", "default": True, "channels": [
        {"type": "webhook", "url": url} for url in spellings]})  # fmt: skip
    answer = strict.post(f"{URL}/hooks/test", headers=admin)
    assert answer.status_code == 200, answer.text
    results = answer.json()
    assert [r["outcome"] for r in results] == ["rejected"] * len(spellings)
    assert results[0]["detail"] == "Webhook refused: address 127.0.0.1 is loopback"
    assert results[2]["detail"] == (
        "Webhook refused: address ::ffff:7f00:1 (IPv4 127.0.0.1) is loopback"
    )
    assert results[3]["detail"] == "Webhook refused: address ::1 is loopback"
    enqueue(db, route_id)  # an alert for channel 0 in the outbox
    assert deliver(strict, db) == {"delivered": 0, "retry": 0, "dead": 1}
    (row,) = strict.get("/api/v1/notifications", headers=admin).json()["data"]
    assert (row["state"], row["attempts"]) == ("dead", 1)
    assert row["last_error"] == "Webhook refused: address 127.0.0.1 is loopback"
    assert (listener.connections(), listener6.connections()) == (0, 0)


def test_the_allow_list_lets_intranet_receivers_through(
    intranet: TestClient, admin: Headers
) -> None:
    with Receiver() as hook, Receiver("127.0.0.2") as elsewhere:
        created = intranet.post(URL, json=webhook_route(hook.url + "/hook"), headers=admin)
        assert created.status_code == 201, created.text
        results = intranet.post(f"{URL}/hooks/test", headers=admin).json()
        assert [(r["type"], r["outcome"]) for r in results][1] == ("webhook", "delivered")
        assert len(hook.requests) == 1
        # 127.0.0.2 is loopback too, and not in the list.
        outside = webhook_route(elsewhere.url + "/hook", name="outside")
        refused = intranet.post(URL, json=outside, headers=admin)
        assert refused.status_code == 422, refused.text
        assert "address 127.0.0.2 is loopback" in refused.json()["detail"]
        assert elsewhere.requests == []


def test_answers_and_last_error_keep_the_status_never_the_body(
    intranet: TestClient, admin: Headers, db: Engine
) -> None:
    with Receiver() as hook:
        body = {"name": "hooks", "default": True,
                "channels": [{"type": "webhook", "url": hook.url + "/hook"}]}  # fmt: skip
        assert intranet.post(URL, json=body, headers=admin).status_code == 201
        hook.respond(500, SECRET_BODY)
        (result,) = intranet.post(f"{URL}/hooks/test", headers=admin).json()
        assert (result["outcome"], result["detail"]) == ("retry", "Webhook answered 500")
        enqueue(db, intranet.get(f"{URL}/hooks", headers=admin).json()["id"], count=2)
        hook.respond(503, SECRET_BODY, {"Retry-After": "1"})
        hook.respond(400, '{"error": "' + SECRET_BODY + '"}')
        assert deliver(intranet, db) == {"delivered": 0, "retry": 1, "dead": 1}
        assert len(hook.wait_for(3)) == 3
    listed = intranet.get("/api/v1/notifications", headers=admin)
    errors = sorted(row["last_error"] for row in listed.json()["data"])
    assert errors == ["Webhook answered 400", "Webhook answered 503"]
    assert SECRET_BODY not in listed.text
    assert "hunter2" not in listed.text


@pytest.fixture
def make_garbage() -> Iterator[Callable[[], str]]:
    """A loopback server whose every answer is a status line with a secret in it: httpx's
    error for it quotes the line."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    connection.recv(65536)
                    connection.sendall(f"{SECRET_BODY} garbage\r\n\r\n".encode())
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield lambda: f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    thread.join(timeout=5)
    server.close()


def test_a_receiver_that_answers_garbage_is_not_quoted(
    intranet: TestClient, admin: Headers, db: Engine, make_garbage: Callable[[], str]
) -> None:
    url = make_garbage()
    stored_route(db, {"name": "hooks", "channels": [{"type": "webhook", "url": url}]})
    (result,) = intranet.post(f"{URL}/hooks/test", headers=admin).json()
    assert result["outcome"] == "retry"
    assert result["detail"] == "Webhook failed: the answer was not HTTP"
    assert "hunter2" not in result["detail"]


def test_a_host_that_does_not_exist_is_a_422_and_a_dns_outage_is_not(
    strict: TestClient, admin: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    answers = {"typo.example.test": socket.EAI_NONAME, "dns-down.example.test": socket.EAI_AGAIN}

    def stub(host: str, port: int) -> list[IPAddress]:
        raise socket.gaierror(answers[host], "stub resolver: no answer")

    state_of(strict.app).notifiers = registry.notifiers(
        pagerduty_url="http://127.0.0.1:9", timeout=1, resolve=stub
    )
    typo = strict.post(URL, json=webhook_route("https://typo.example.test/h"), headers=admin)
    assert typo.status_code == 422, typo.text
    assert typo.json()["detail"] == (
        "channels[1].url: its host name does not resolve: is it spelled right?"
    )
    with caplog.at_level(logging.WARNING, logger="slo_service.notify.pinned"):
        body = webhook_route("https://dns-down.example.test/h")
        assert strict.post(URL, json=body, headers=admin).status_code == 201
    assert "saved unchecked" in caplog.text
