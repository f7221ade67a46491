"""The egress policy at send time, against real sockets on loopback: every spelling of a
loopback address refused without a connection, the allow-list letting a receiver through, a
name resolved once and connected to at the address that was checked (no rebinding window),
every address of a name checked, and redirects not followed.

Names other than ``localhost`` go through a resolver stub: no test asks the machine's DNS."""

import logging
import socket
import ssl
import subprocess
from collections.abc import Iterator, Sequence
from ipaddress import ip_address
from pathlib import Path

import pytest

from slo_service.notify.base import Delivered, Outcome, Rejected, RetryLater
from slo_service.notify.egress import PUBLIC_ONLY, EgressPolicy, IPAddress
from slo_service.notify.pagerduty import PagerDutyNotifier
from slo_service.notify.pinned import Resolver, system_resolver
from slo_service.notify.slack import SlackNotifier
from slo_service.notify.webhook import WebhookNotifier
from tests.notify.test_payloads import alert
from tests.support.receivers import Listener, Receiver

KEY = "egress-test"
LABELS = {"slack": "Slack webhook", "webhook": "Webhook"}


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener("127.0.0.1") as running:
        yield running


@pytest.fixture
def listener6() -> Iterator[Listener]:
    with Listener("::1") as running:
        yield running


def send(
    kind: str,
    url: str,
    *,
    egress: EgressPolicy = PUBLIC_ONLY,
    resolve: Resolver = system_resolver,  # literal addresses and localhost only
) -> Outcome:
    """One firing page through a Slack or webhook channel to ``url``."""
    notifier: SlackNotifier | WebhookNotifier
    if kind == "slack":
        notifier = SlackNotifier(timeout=2.0, egress=egress, resolve=resolve)
        config = {"webhook_url": url}
    else:
        notifier = WebhookNotifier(timeout=2.0, egress=egress, resolve=resolve)
        config = {"url": url}
    try:
        return notifier.send(alert(), config, idempotency_key=KEY)
    finally:
        notifier.close()


class Stub:
    """A resolver with fixed answers per name, one list per lookup (the last one repeats),
    that records what it was asked."""

    def __init__(self, answers: dict[str, list[list[str] | int]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        turns = self.answers[host]
        answer = turns[min(self.asked.count(host), len(turns) - 1)]
        self.asked.append(host)
        if isinstance(answer, int):
            raise socket.gaierror(answer, "stub resolver: no answer")
        return [ip_address(a) for a in answer]


# (host in the URL, the address named in the refusal, its kind); the IPv6 loopback goes to
# its own listener.
SPELLINGS = [
    ("127.0.0.1", "127.0.0.1", "loopback"),
    ("2130706433", "127.0.0.1", "loopback"),
    ("0x7f.1", "127.0.0.1", "loopback"),
    ("127.1", "127.0.0.1", "loopback"),
    ("localhost", "127.0.0.1", "loopback"),
    ("[::ffff:127.0.0.1]", "::ffff:7f00:1 (IPv4 127.0.0.1)", "loopback"),
    ("[::1]", "::1", "loopback"),
    ("0.0.0.0", "0.0.0.0", "unspecified"),
]


@pytest.mark.parametrize("kind", LABELS)
@pytest.mark.parametrize(("host", "shown", "what"), SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_loopback_spellings_are_refused_without_a_connection(
    listener: Listener, listener6: Listener, kind: str, host: str, shown: str, what: str
) -> None:
    port = listener6.port if host == "[::1]" else listener.port
    result = send(kind, f"http://{host}:{port}/services/T0/B0/XXXX")
    assert result == Rejected(f"{LABELS[kind]} refused: address {shown} is {what}")
    assert (listener.connections(), listener6.connections()) == (0, 0)


def test_an_octal_spelling_is_not_sent_either(listener: Listener) -> None:
    """httpx will not read 0177.0.0.1 (getaddrinfo would: the save check refuses it)."""
    result = send("webhook", f"http://0177.0.0.1:{listener.port}/h")
    assert isinstance(result, Rejected)
    assert listener.connections() == 0


@pytest.mark.parametrize("kind", LABELS)
def test_the_allow_list_lets_a_loopback_receiver_through(kind: str, listener6: Listener) -> None:
    allowed = EgressPolicy.allowing(["127.0.0.1/32"])
    with Receiver() as receiver:
        assert send(kind, receiver.url + "/hook", egress=allowed) == Delivered(200)
        (request,) = receiver.wait_for(1)
        assert request.path == "/hook"
    refused = send(kind, f"http://[::1]:{listener6.port}/hook", egress=allowed)
    assert refused == Rejected(f"{LABELS[kind]} refused: address ::1 is loopback")
    assert listener6.connections() == 0


def test_a_name_is_resolved_once_and_connected_to_at_the_checked_address() -> None:
    """The name answers 127.0.0.2 (allowed) to the first lookup and 127.0.0.3 after: the
    connection must go where the check said, and the next connection is checked anew."""
    allowed = EgressPolicy.allowing(["127.0.0.2/32"])
    stub = Stub({"hooks.rebind.test": [["127.0.0.2"], ["127.0.0.3"]]})
    with Receiver("127.0.0.2") as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        url = f"http://hooks.rebind.test:{port}/hook"
        assert send("webhook", url, egress=allowed, resolve=stub) == Delivered(200)
        assert stub.asked == ["hooks.rebind.test"]
        (request,) = receiver.wait_for(1)
        assert request.headers["host"] == f"hooks.rebind.test:{port}"  # the URL's, not the IP
        rebound = send("webhook", url, egress=allowed, resolve=stub)
        assert rebound == Rejected("Webhook refused: address 127.0.0.3 is loopback")
        assert len(receiver.requests) == 1


def test_every_address_of_a_name_is_checked() -> None:
    allowed = EgressPolicy.allowing(["127.0.0.2/32"])
    stub = Stub({"two.example.test": [["127.0.0.2", "127.0.0.1"]]})
    with Receiver("127.0.0.2") as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        result = send("slack", f"http://two.example.test:{port}/s", egress=allowed, resolve=stub)
        assert result == Rejected("Slack webhook refused: address 127.0.0.1 is loopback")
        assert receiver.requests == []


def test_the_checked_addresses_are_tried_in_turn() -> None:
    """Nothing listens on 127.0.0.3: the connection goes on to the next checked address."""
    loopback = EgressPolicy.allowing(["127.0.0.0/8"])
    stub = Stub({"two.example.test": [["127.0.0.3", "127.0.0.2"]]})
    with Receiver("127.0.0.2") as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        url = f"http://two.example.test:{port}/h"
        assert send("webhook", url, egress=loopback, resolve=stub) == Delivered(200)
        assert len(receiver.wait_for(1)) == 1


@pytest.mark.parametrize("answer", [socket.EAI_NONAME, []], ids=["no-such-name", "no-address"])
def test_a_name_that_does_not_resolve_is_tried_again_later(answer: list[str] | int) -> None:
    stub = Stub({"gone.example.test": [answer]})
    result = send("webhook", "https://gone.example.test/h", resolve=stub)
    assert result == RetryLater("Webhook unreachable: name does not resolve", None)


@pytest.mark.parametrize("kind", LABELS)
def test_a_redirect_is_not_followed(kind: str) -> None:
    loopback = EgressPolicy.allowing(["127.0.0.0/8"])
    with Receiver() as first, Receiver() as elsewhere:
        first.respond(302, headers={"Location": elsewhere.url + "/stolen"})
        result = send(kind, first.url + "/hook", egress=loopback)
        assert result == Rejected(
            f"{LABELS[kind]} answered 302 (a redirect, not followed: is the URL right?)"
        )
        assert len(first.wait_for(1)) == 1
        assert elsewhere.requests == []


def test_the_save_check_tells_a_typo_from_a_dns_outage(caplog: pytest.LogCaptureFixture) -> None:
    stub = Stub({"typo.example.test": [socket.EAI_NONAME], "dns-down.example.test": [
        socket.EAI_AGAIN], "public.example.test": [["8.8.8.8"]]})  # fmt: skip
    webhook = WebhookNotifier(resolve=stub)
    slack = SlackNotifier(resolve=stub)
    try:
        assert webhook.check_destination({"url": "https://typo.example.test/h"}) == [
            (("url",), "its host name does not resolve: is it spelled right?")
        ]
        with caplog.at_level(logging.WARNING, logger="slo_service.notify.pinned"):
            assert slack.check_destination({"webhook_url": "https://dns-down.example.test/"}) == []
        assert "saved unchecked" in caplog.text
        assert webhook.check_destination({"url": "https://public.example.test:8443/h"}) == []
        assert stub.asked == ["typo.example.test", "dns-down.example.test", "public.example.test"]
    finally:
        webhook.close()
        slack.close()


def test_pagerduty_is_trusted_at_its_operators_url() -> None:
    """SLO_PAGERDUTY_URL is the operator's: a loopback proxy or test receiver is fine."""
    with Receiver() as receiver:
        notifier = PagerDutyNotifier(base_url=receiver.url, timeout=2.0)
        config = {"routing_key": "R0UT1NGKEY0123456789abcdefABCDEF"}
        try:
            assert notifier.check_destination(config) == []
            assert notifier.send(alert(), config, idempotency_key=KEY) == Delivered(202)
        finally:
            notifier.close()
        assert receiver.wait_for(1)[0].path == "/v2/enqueue"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.tls.test (openssl, as Debian ships it)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=hooks.tls.test", "-addext", "subjectAltName=DNS:hooks.tls.test",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_keeps_the_urls_name_while_connecting_to_the_checked_address(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection goes to 127.0.0.2, and the TLS server name (SNI) and the certificate's
    check are still the URL's host: a name the certificate does not cover fails."""
    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this one certificate
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    names: list[str | None] = []
    server.sni_callback = lambda _socket, name, _context: names.append(name)
    allowed = EgressPolicy.allowing(["127.0.0.2/32"])
    stub = Stub({"hooks.tls.test": [["127.0.0.2"]], "other.tls.test": [["127.0.0.2"]]})
    with Receiver("127.0.0.2", tls=server) as receiver:
        port = receiver.url.rsplit(":", 1)[1]
        good = send("webhook", f"https://hooks.tls.test:{port}/h", egress=allowed, resolve=stub)
        assert good == Delivered(200)
        assert receiver.wait_for(1)[0].headers["host"] == f"hooks.tls.test:{port}"
        bad = send("webhook", f"https://other.tls.test:{port}/h", egress=allowed, resolve=stub)
        assert bad == RetryLater("Webhook unreachable: its TLS certificate did not verify", None)
        assert len(receiver.requests) == 1
    assert names == ["hooks.tls.test", "other.tls.test"]
