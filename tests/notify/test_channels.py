"""Each channel against a real HTTP receiver on loopback: what arrives (path, headers, body),
and what every kind of failure turns into (retry later, or rejected), without a secret in
any reason."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from slo_service.notify.base import Delivered, Message, Outcome, Rejected, RetryLater
from slo_service.notify.pagerduty import PagerDutyNotifier, pagerduty_event
from slo_service.notify.posting import KNOWN_ERRORS
from slo_service.notify.slack import SlackNotifier, slack_payload
from slo_service.notify.webhook import WebhookNotifier, webhook_payload
from slo_service.services.alerting.delivery import message_of
from tests.notify.test_payloads import (
    RESOLVED,
    ROUTING_KEY,
    alert,
    freeze,
    legacy,
    silent,
    stored,
    stored_silence,
    verify,
)
from tests.support.receivers import LOOPBACK, Receiver
from tests.support.servers import free_port

SLACK_PATH = "/services/T0123ABCD/B0456EFGH/s3cr3tW3bh00kT0k3nXXXXXX"
WEBHOOK_TOKEN = "q-token-0123456789"
WEBHOOK_SECRET = "whsec-0123456789abcdef"
NOW = 1767268800  # the webhook's signing clock, pinned
KEY = "delivery-41-attempt-set"

Notifier = SlackNotifier | PagerDutyNotifier | WebhookNotifier


@dataclass(frozen=True)
class Channel:
    """How to point one kind of notifier at ``base`` (a receiver's URL, or a closed port)."""

    make: Callable[[str, float], Notifier]  # (base, timeout)
    config: Callable[[str], dict[str, Any]]
    path: str  # where the request arrives
    body: Callable[[Message], Any]  # the pure payload function's output
    status: int  # what the receiver answers by default
    secrets: tuple[str, ...]  # what no reason may contain


CHANNELS = {
    "slack": Channel(
        make=lambda base, timeout: SlackNotifier(timeout=timeout, egress=LOOPBACK),
        config=lambda base: {"webhook_url": base + SLACK_PATH},
        path=SLACK_PATH,
        body=slack_payload,
        status=200,
        secrets=(SLACK_PATH, "s3cr3tW3bh00kT0k3n"),
    ),
    "pagerduty": Channel(
        make=lambda base, timeout: PagerDutyNotifier(base_url=base, timeout=timeout),
        config=lambda base: {"routing_key": ROUTING_KEY},
        path="/v2/enqueue",
        body=lambda message: pagerduty_event(message, ROUTING_KEY),
        status=202,
        secrets=(ROUTING_KEY,),
    ),
    "webhook": Channel(
        make=lambda base, timeout: WebhookNotifier(
            timeout=timeout, clock=lambda: NOW, egress=LOOPBACK
        ),
        config=lambda base: {"url": f"{base}/hooks/slo?token={WEBHOOK_TOKEN}", "secret": "x"},
        path=f"/hooks/slo?token={WEBHOOK_TOKEN}",
        body=webhook_payload,
        status=200,
        secrets=(WEBHOOK_TOKEN,),
    ),
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def send(
    name: str,
    base: str,
    message: Message | None = None,
    *,
    timeout: float = 5.0,
    key: str = KEY,
) -> Outcome:
    """Send ``message`` (a firing page by default) through channel ``name`` to ``base``."""
    channel = CHANNELS[name]
    notifier = channel.make(base, timeout)
    try:
        return notifier.send(message or alert(), channel.config(base), idempotency_key=key)
    finally:
        notifier.close()


@pytest.mark.parametrize("name", CHANNELS)
def test_delivered(receiver: Receiver, name: str) -> None:
    channel = CHANNELS[name]
    assert send(name, receiver.url) == Delivered(channel.status)
    (request,) = receiver.wait_for(1)
    assert request.method == "POST"
    assert request.path == channel.path
    assert request.headers["idempotency-key"] == KEY
    assert request.headers["content-type"] == "application/json"
    assert request.json() == channel.body(alert())


@pytest.mark.parametrize(
    ("message", "action"),
    [(alert(), "trigger"), (alert(event="repeat"), "trigger"), (RESOLVED, "resolve")],
    ids=["trigger", "repeat", "resolve"],
)
def test_pagerduty_events_reach_enqueue(receiver: Receiver, message: Message, action: str) -> None:
    assert send("pagerduty", receiver.url, message) == Delivered(202)
    (request,) = receiver.wait_for(1)
    assert request.path == "/v2/enqueue"
    assert request.json()["event_action"] == action
    assert request.json()["dedup_key"] == "slo-7-page"


@pytest.mark.parametrize("name", CHANNELS)
@pytest.mark.parametrize(
    ("row", "shown", "tiers"),
    [
        (stored(), ["98.1", "40.2", "14.4", "6h"], 2),
        (stored_silence(), ["09:00", "HTTP 503"], 0),
        (legacy(), ["98.1", "102", "14.4", "1h"], 1),
    ],
    ids=["page-two-tiers", "nodata", "legacy-row"],
)
def test_outbox_messages_arrive(
    receiver: Receiver, name: str, row: dict[str, Any], shown: list[str], tiers: int
) -> None:
    """An outbox row as the sender makes it a Message: delivered, and the tiers (or the
    silence) in what arrives."""
    message = message_of(row, "https://slo.example.com")
    assert send(name, receiver.url, message) == Delivered(CHANNELS[name].status)
    (request,) = receiver.wait_for(1)
    assert request.json() == CHANNELS[name].body(message)
    assert all(text in request.body.decode() for text in shown)
    if name != "slack":  # PagerDuty and the webhook carry the alert and its tiers as data
        body = request.json()
        data = body["payload"]["custom_details"] if name == "pagerduty" else body
        assert data["alert"] == row.get("alert", "page")
        assert len(data.get("tiers", [])) == tiers


@pytest.mark.parametrize("name", CHANNELS)
def test_nodata_trigger_arrives(receiver: Receiver, name: str) -> None:
    assert send(name, receiver.url, silent()) == Delivered(CHANNELS[name].status)
    (request,) = receiver.wait_for(1)
    assert request.json() == CHANNELS[name].body(silent())
    assert b"burn_rate" not in request.body
    assert b"Burn rate" not in request.body


def test_webhook_signature_arrives_verifiable(receiver: Receiver) -> None:
    notifier = WebhookNotifier(clock=lambda: NOW, egress=LOOPBACK)
    config = {"url": receiver.url + "/hook", "secret": WEBHOOK_SECRET}
    assert notifier.send(freeze(), config, idempotency_key=KEY) == Delivered(200)
    notifier.close()
    (request,) = receiver.wait_for(1)
    assert request.headers["x-slo-timestamp"] == str(NOW)
    assert verify(WEBHOOK_SECRET, request.headers, request.body)  # over the bytes as received
    assert not verify(WEBHOOK_SECRET, request.headers, request.body.replace(b"policy", b"me"))


def test_webhook_without_secret_is_unsigned(receiver: Receiver) -> None:
    notifier = WebhookNotifier(egress=LOOPBACK)
    assert notifier.send(alert(), {"url": receiver.url}, idempotency_key=KEY) == Delivered(200)
    notifier.close()
    (request,) = receiver.wait_for(1)
    assert "x-slo-signature" not in request.headers
    assert "x-slo-timestamp" not in request.headers


def _http_date(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize("name", CHANNELS)
@pytest.mark.parametrize(
    ("status", "headers", "after"),
    [
        (500, {}, None),
        (502, {}, None),
        (503, {"Retry-After": "3"}, 3.0),
        (408, {}, None),
        (429, {"Retry-After": "7"}, 7.0),
        (429, {}, None),
    ],
    ids=["500", "502", "503-retry-after", "408", "429-retry-after-7", "429-bare"],
)
def test_retry_later(
    receiver: Receiver, name: str, status: int, headers: dict[str, str], after: float | None
) -> None:
    receiver.respond(status, b"try again", headers)
    result = send(name, receiver.url)
    assert isinstance(result, RetryLater)
    assert result.after_seconds == after
    assert result.reason == f"{_label(name)} answered {status}"  # its body is not repeated


@pytest.mark.parametrize("name", CHANNELS)
def test_retry_after_as_http_date(receiver: Receiver, name: str) -> None:
    receiver.respond(429, headers={"Retry-After": _http_date(30)})
    result = send(name, receiver.url)
    assert isinstance(result, RetryLater)
    assert result.after_seconds is not None
    assert 0 < result.after_seconds <= 31  # HTTP-dates have whole seconds


@pytest.mark.parametrize("name", CHANNELS)
def test_timeout_retries_later(receiver: Receiver, name: str) -> None:
    receiver.respond(200, delay=2.0)
    started = time.monotonic()
    result = send(name, receiver.url, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert result == RetryLater(f"{_label(name)} did not answer within 0.5 s", None)
    receiver.wait_for(1)  # it did arrive: the retry must not page twice (the dedup key)


@pytest.mark.parametrize("name", CHANNELS)
def test_connection_refused_retries_later(name: str) -> None:
    result = send(name, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    assert result == RetryLater(f"{_label(name)} unreachable: connection refused", None)


@pytest.mark.parametrize("name", CHANNELS)
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, b'{"status":"invalid event","message":"Event object is invalid"}'),
        (400, b"invalid_payload"),
        (403, b"action_prohibited"),
        (404, b"no_service"),
        (410, b"channel_is_archived"),
        (301, b""),
    ],
    ids=["pagerduty-400", "slack-400", "403", "404", "410-archived", "redirect"],
)
def test_rejected(receiver: Receiver, name: str, status: int, body: bytes) -> None:
    headers = {"Location": "https://elsewhere.example/"} if status == 301 else {}
    receiver.respond(status, body, headers)
    result = send(name, receiver.url)
    assert isinstance(result, Rejected)
    # Slack's own error codes (a fixed set) are named; any other body is not repeated.
    said = f": {body.decode()}" if body.decode() in KNOWN_ERRORS else ""
    redirect = " (a redirect, not followed: is the URL right?)" if status == 301 else ""
    assert result.reason == f"{_label(name)} answered {status}{said}{redirect}"
    assert len(receiver.wait_for(1)) == 1  # a redirect is not followed


@pytest.mark.parametrize("name", CHANNELS)
def test_invalid_settings_are_rejected_before_sending(receiver: Receiver, name: str) -> None:
    notifier = CHANNELS[name].make(receiver.url, 5.0)
    result = notifier.send(alert(), {}, idempotency_key=KEY)
    notifier.close()
    assert isinstance(result, Rejected)
    assert result.reason.startswith("the channel's settings are invalid: ")
    assert receiver.requests == []


@pytest.mark.parametrize("name", CHANNELS)
def test_a_retry_keeps_the_idempotency_key(receiver: Receiver, name: str) -> None:
    receiver.respond(503)
    assert isinstance(send(name, receiver.url), RetryLater)
    assert send(name, receiver.url) == Delivered(CHANNELS[name].status)
    first, second = receiver.wait_for(2)
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == KEY
    assert first.body == second.body


@pytest.mark.parametrize("name", CHANNELS)
def test_no_reason_holds_a_secret(receiver: Receiver, name: str) -> None:
    channel = CHANNELS[name]
    echo = f"bad request to {receiver.url}{channel.path} with key {ROUTING_KEY}".encode()
    receiver.respond(400, echo)  # a receiver that repeats the secrets back
    receiver.respond(500, echo)
    receiver.respond(429, echo, {"Retry-After": "1"})
    receiver.respond(200, delay=2.0)
    reasons = [_reason(send(name, receiver.url, timeout=0.5)) for _ in range(4)]
    reasons.append(_reason(send(name, f"http://127.0.0.1:{free_port()}")))
    reasons.append(_reason(send(name, "http://[::1")))  # not a URL at all
    for reason in reasons:
        assert all(secret not in reason for secret in channel.secrets), reason
    assert reasons[:3] == [f"{_label(name)} answered {status}" for status in (400, 500, 429)]


def _reason(outcome: Outcome) -> str:
    assert not isinstance(outcome, Delivered)
    return outcome.reason


def _label(name: str) -> str:
    return {"slack": "Slack webhook", "pagerduty": "PagerDuty", "webhook": "Webhook"}[name]
