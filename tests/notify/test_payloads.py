"""The channels' payloads, field by field, against the formats they are posted in: Slack's
Block Kit (and its limits), PagerDuty's Events API v2, and our own signed webhook."""

import hashlib
import hmac
import json
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from slo_service.notify.base import (
    Message,
    duration_text,
    objective_percent,
    percent,
    retry_after,
)
from slo_service.notify.pagerduty import PagerDutyNotifier, dedup_key, pagerduty_event
from slo_service.notify.slack import SlackNotifier, slack_payload
from slo_service.notify.webhook import (
    WebhookNotifier,
    signed_headers,
    webhook_body,
    webhook_payload,
)

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 letters and digits, like PagerDuty's
SLO_URL = "https://slo.example.com/slos/7"


def alert(**changes: Any) -> Message:
    """A page firing on churn-model:availability (1h/5m tier), changed by ``changes``."""
    message = Message(
        event="trigger",
        dedup_key="slo-7-page-1h-5m",
        service="churn-model",
        slo="churn-model:availability",
        severity="page",
        summary="churn-model:availability is burning its error budget 15.2x too fast",
        at=AT,
        url=SLO_URL,
        long_window="1h",
        short_window="5m",
        factor=14.4,
        long_burn_rate=15.2,
        short_burn_rate=18.0,
        budget_remaining=0.12,
        time_to_exhaustion_seconds=12_000,
        objective=0.999,
        window="30d",
        labels={"team": "ml-platform", "tier": "gold"},
    )
    return replace(message, **changes)


def freeze(**changes: Any) -> Message:
    message = Message(
        event="freeze_start",
        dedup_key="freeze-churn-model",
        service="churn-model",
        slo=None,
        severity="page",
        summary="churn-model deploys are frozen: its error budget is exhausted",
        at=AT,
        url="https://slo.example.com/services/churn-model/gate",
        budget_remaining=-0.05,
        details={"reason": "budget exhausted", "by": "policy"},
    )
    return replace(message, **changes)


RESOLVED = alert(event="resolve", long_burn_rate=0.8, short_burn_rate=0.2, summary="recovered")
MESSAGES = [
    alert(),
    alert(severity="ticket", long_window="1d", short_window="2h", factor=3.0),
    alert(event="repeat"),
    RESOLVED,
    freeze(),
    freeze(event="freeze_lift", summary="churn-model deploys are open again"),
    alert(event="test", slo=None, summary="a test from slo-service", url=None, labels={}),
    alert(slo="x" * 500 + ":availability", summary="y" * 5000, labels={"k": "v" * 3000}),
    freeze(details={f"detail_{n}": "z" * 2500 for n in range(15)}),
]
MESSAGE_IDS = [
    "page",
    "ticket",
    "repeat",
    "resolve",
    "freeze-start",
    "freeze-lift",
    "test",
    "oversized-texts",
    "too-many-details",
]


# --- Slack -------------------------------------------------------------------------------


@pytest.mark.parametrize("message", MESSAGES, ids=MESSAGE_IDS)
def test_slack_blocks_keep_block_kit_limits(message: Message) -> None:
    payload = slack_payload(message)
    assert isinstance(payload["text"], str)
    assert payload["text"].strip()
    assert len(payload["text"]) <= 3000
    kinds = [block["type"] for block in payload["blocks"]]
    assert kinds == ["header", "section", "context"] + ["actions"] * bool(message.url)
    header = payload["blocks"][0]["text"]
    assert header["type"] == "plain_text"
    assert 0 < len(header["text"]) <= 150
    section = payload["blocks"][1]
    assert section["text"]["type"] == "mrkdwn"
    assert 0 < len(section["text"]["text"]) <= 3000
    assert len(section.get("fields", [])) <= 10
    for item in section.get("fields", []):
        assert item["type"] == "mrkdwn"
        assert 0 < len(item["text"]) <= 2000
    context = payload["blocks"][2]["elements"]
    assert 0 < len(context) <= 10
    assert all(element["type"] == "mrkdwn" for element in context)
    if message.url:
        (button,) = payload["blocks"][3]["elements"]
        assert button["type"] == "button"
        assert button["url"] == message.url
        assert button["text"]["type"] == "plain_text"
        assert len(button["text"]["text"]) <= 75
    assert json.loads(json.dumps(payload)) == payload  # plain JSON data


@pytest.mark.parametrize(
    ("message", "text", "header"),
    [
        (
            alert(),
            ":rotating_light: [PAGE] churn-model:availability burning 15.2x its budget (1h), "
            "12.0% left, exhausted in 3h 20m",
            "🔥 PAGE: churn-model:availability",
        ),
        (
            alert(severity="ticket", time_to_exhaustion_seconds=None),
            ":warning: [TICKET] churn-model:availability burning 15.2x its budget (1h), 12.0% left",
            "⚠️ TICKET: churn-model:availability",
        ),
        (
            alert(budget_remaining=-0.5, time_to_exhaustion_seconds=0.0),
            ":rotating_light: [PAGE] churn-model:availability burning 15.2x its budget (1h), "
            "-50.0% left, budget exhausted",
            "🔥 PAGE: churn-model:availability",
        ),
        (
            alert(event="repeat"),
            ":rotating_light: [PAGE, still firing] churn-model:availability burning 15.2x",
            "🔥 PAGE, still firing: churn-model:availability",
        ),
        (
            RESOLVED,
            ":white_check_mark: [RESOLVED] churn-model:availability back to 0.8x its budget (1h)",
            "✅ RESOLVED: churn-model:availability",
        ),
        (
            freeze(),
            ":ice_cube: [DEPLOY FREEZE] churn-model deploys are frozen",
            "🧊 DEPLOY FREEZE: churn-model deploys",
        ),
        (
            freeze(event="freeze_lift", summary="churn-model deploys are open again"),
            ":large_green_circle: [FREEZE LIFTED] churn-model deploys are open again",
            "🟢 FREEZE LIFTED: churn-model deploys",
        ),
        (
            alert(event="test", slo=None, summary="a test from slo-service"),
            ":test_tube: [TEST] a test from slo-service",
            "🧪 TEST: churn-model",
        ),
        (
            alert(long_burn_rate=None, summary="no burn data & <no> numbers"),
            ":rotating_light: [PAGE] no burn data &amp; &lt;no&gt; numbers",
            "🔥 PAGE: churn-model:availability",
        ),
    ],
    ids=[
        "page",
        "ticket",
        "exhausted",
        "repeat",
        "resolve",
        "freeze",
        "freeze-lift",
        "test",
        "no-numbers",
    ],
)
def test_slack_text_and_header(message: Message, text: str, header: str) -> None:
    payload = slack_payload(message)
    assert payload["text"].startswith(text)
    assert payload["blocks"][0]["text"]["text"] == header


def _fields(message: Message) -> list[str]:
    return [item["text"] for item in slack_payload(message)["blocks"][1].get("fields", [])]


@pytest.mark.parametrize(
    ("message", "fields"),
    [
        (
            alert(),
            [
                "*Burn rate 1h / 5m*\n15.2x / 18.0x (fires over 14.4x)",
                "*Error budget left*\n12.0%",
                "*Budget exhausted in*\n3h 20m",
                "*Objective*\n99.9%",
                "*Window*\n30d",
            ],
        ),
        (
            alert(time_to_exhaustion_seconds=None, budget_remaining=-0.5, objective=0.99995),
            [
                "*Burn rate 1h / 5m*\n15.2x / 18.0x (fires over 14.4x)",
                "*Error budget left*\n-50.0% (overspent)",
                "*Budget exhausted in*\nnot burning",
                "*Objective*\n99.995%",
                "*Window*\n30d",
            ],
        ),
        (
            alert(time_to_exhaustion_seconds=0, short_burn_rate=None),
            [
                "*Burn rate 1h / 5m*\n15.2x / no data (fires over 14.4x)",
                "*Error budget left*\n12.0%",
                "*Budget exhausted in*\nalready exhausted",
                "*Objective*\n99.9%",
                "*Window*\n30d",
            ],
        ),
        (
            RESOLVED,
            [
                "*Burn rate now 1h / 5m*\n0.8x / 0.2x (fired over 14.4x)",
                "*Error budget left*\n12.0%",
                "*Objective*\n99.9%",
                "*Window*\n30d",
            ],
        ),
        (
            freeze(),
            [
                "*Error budget left*\n-5.0% (overspent)",
                "*Reason*\nbudget exhausted",
                "*By*\npolicy",
            ],
        ),
        (
            alert(event="test", slo=None, long_window=None, objective=None, window=None),
            ["*Error budget left*\n12.0%"],
        ),
    ],
    ids=["page", "overspent-not-burning", "exhausted", "resolve", "freeze", "test"],
)
def test_slack_fields(message: Message, fields: list[str]) -> None:
    assert _fields(message) == fields


def test_slack_resolved_message_differs_from_the_trigger() -> None:
    fired, resolved = slack_payload(alert()), slack_payload(RESOLVED)
    assert resolved["blocks"][0] != fired["blocks"][0]
    assert resolved["text"] != fired["text"]
    assert not any("exhausted in" in text for text in _fields(RESOLVED))


def test_slack_context_and_escaping() -> None:
    message = alert(labels={"team": "<!channel>", "tier": "a&b"})
    context = [element["text"] for element in slack_payload(message)["blocks"][2]["elements"]]
    assert context == [
        "*Service* churn-model",
        "`team=&lt;!channel&gt;` `tier=a&amp;b`",
        f"<!date^{int(AT.timestamp())}^{{date_short_pretty}} {{time}}|2026-03-01 12:00 UTC>",
    ]


@pytest.mark.parametrize(
    ("url", "has_button"),
    [(SLO_URL, True), (None, False), ("https://slo.example.com/" + "a" * 3000, False)],
    ids=["link", "no-link", "link-over-3000"],
)
def test_slack_button_only_for_a_usable_link(url: str | None, has_button: bool) -> None:
    kinds = [block["type"] for block in slack_payload(alert(url=url))["blocks"]]
    assert ("actions" in kinds) is has_button


def test_slack_header_is_cut_with_an_ellipsis() -> None:
    header = slack_payload(alert(slo="s" * 400))["blocks"][0]["text"]["text"]
    assert len(header) == 150
    assert header.endswith("…")


# --- PagerDuty ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "action", "severity"),
    [
        (alert(), "trigger", "critical"),
        (alert(severity="ticket"), "trigger", "warning"),
        (alert(event="repeat"), "trigger", "critical"),
        (alert(event="test"), "trigger", "critical"),
        (freeze(), "trigger", "warning"),
        (RESOLVED, "resolve", None),
        (freeze(event="freeze_lift"), "resolve", None),
    ],
    ids=["page", "ticket", "repeat", "test", "freeze-start", "resolve", "freeze-lift"],
)
def test_pagerduty_action_and_severity(message: Message, action: str, severity: str | None) -> None:
    event = pagerduty_event(message, ROUTING_KEY)
    assert event["event_action"] == action
    assert event["routing_key"] == ROUTING_KEY
    assert event["dedup_key"] == message.dedup_key
    assert event.get("payload", {}).get("severity") == severity


def test_pagerduty_trigger_fields() -> None:
    event = pagerduty_event(alert(), ROUTING_KEY)
    assert set(event) == {
        "routing_key",
        "event_action",
        "dedup_key",
        "payload",
        "client",
        "client_url",
        "links",
    }
    payload = event["payload"]
    assert payload["summary"] == alert().summary
    assert payload["source"] == "churn-model"
    assert payload["component"] == "churn-model:availability"
    assert payload["group"] == "churn-model"
    assert payload["class"] == "slo-burn-rate"
    assert datetime.fromisoformat(payload["timestamp"]) == AT
    assert payload["custom_details"] == {
        "event": "trigger",
        "slo": "churn-model:availability",
        "severity": "page",
        "long_window": "1h",
        "short_window": "5m",
        "factor": 14.4,
        "long_burn_rate": 15.2,
        "short_burn_rate": 18.0,
        "budget_remaining": 0.12,
        "budget_remaining_percent": "12.0%",
        "time_to_exhaustion_seconds": 12_000,
        "time_to_exhaustion": "3h 20m",
        "objective": 0.999,
        "window": "30d",
        "labels": {"team": "ml-platform", "tier": "gold"},
    }
    assert event["links"] == [{"href": SLO_URL, "text": "SLO page"}]
    assert event["client"] == "slo-service"
    assert event["client_url"] == SLO_URL


def test_pagerduty_says_when_the_budget_is_exhausted_already() -> None:
    spent = alert(budget_remaining=-0.5, time_to_exhaustion_seconds=0.0)
    details = pagerduty_event(spent, ROUTING_KEY)["payload"]["custom_details"]
    assert details["time_to_exhaustion"] == "already exhausted"
    assert details["budget_remaining_percent"] == "-50.0%"


@pytest.mark.parametrize(
    "message",
    [RESOLVED, freeze(event="freeze_lift")],
    ids=["resolve", "freeze-lift"],
)
def test_pagerduty_resolve_carries_only_the_keys(message: Message) -> None:
    assert pagerduty_event(message, ROUTING_KEY) == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": message.dedup_key,
    }


@pytest.mark.parametrize(
    ("summary", "length"),
    [("short", 5), ("s" * 1024, 1024), ("s" * 1025, 1024), ("s" * 5000, 1024)],
    ids=["short", "at-limit", "one-over", "5000-chars"],
)
def test_pagerduty_summary_is_cut_to_1024(summary: str, length: int) -> None:
    sent = pagerduty_event(alert(summary=summary), ROUTING_KEY)["payload"]["summary"]
    assert len(sent) == length
    assert sent.endswith("…") is (len(summary) > 1024)


def test_pagerduty_freeze_and_nan() -> None:
    payload = pagerduty_event(freeze(factor=float("nan")), ROUTING_KEY)["payload"]
    assert "component" not in payload
    assert payload["class"] == "error-budget-freeze"
    assert payload["custom_details"]["details"] == {"reason": "budget exhausted", "by": "policy"}
    assert "factor" not in payload["custom_details"]  # NaN is not JSON: left out


def test_pagerduty_long_dedup_keys_stay_distinct_and_stable() -> None:
    first, second = "k" * 300 + "-1", "k" * 300 + "-2"
    assert len(dedup_key(first)) == 255
    assert dedup_key(first) == dedup_key(first)
    assert dedup_key(first) != dedup_key(second)
    assert dedup_key("slo-7-page-1h-5m") == "slo-7-page-1h-5m"


@pytest.mark.parametrize(
    ("config", "problems"),
    [
        ({"routing_key": ROUTING_KEY}, []),
        ({"routing_key": "a" * 20}, []),
        ({"routing_key": "a" * 64}, []),
        ({}, [("routing_key",)]),
        ({"routing_key": ""}, [("routing_key",)]),
        ({"routing_key": "a" * 19}, [("routing_key",)]),
        ({"routing_key": "a" * 65}, [("routing_key",)]),
        ({"routing_key": "abcd-efgh-ijkl-mnop-qrst-uvwx"}, [("routing_key",)]),
        ({"routing_key": 12345678901234567890123}, [("routing_key",)]),
    ],
    ids=["32", "20", "64", "missing", "empty", "19", "65", "dashes", "number"],
)
def test_pagerduty_check(config: dict[str, Any], problems: list[tuple[str, ...]]) -> None:
    with closing(PagerDutyNotifier()) as notifier:
        found = notifier.check(config)
    assert [path for path, _ in found] == problems
    key = str(config.get("routing_key") or "")
    assert not any(key and key in why for _, why in found)  # the secret is not quoted back


# --- Webhook and the shared checks --------------------------------------------------------


def test_webhook_body_has_every_field() -> None:
    message = freeze()
    assert json.loads(webhook_body(message)) == webhook_payload(message)
    assert webhook_payload(message) == {
        "version": 1,
        "event": "freeze_start",
        "dedup_key": "freeze-churn-model",
        "service": "churn-model",
        "slo": None,
        "severity": "page",
        "summary": message.summary,
        "at": "2026-03-01T12:00:00+00:00",
        "url": "https://slo.example.com/services/churn-model/gate",
        "long_window": None,
        "short_window": None,
        "factor": None,
        "long_burn_rate": None,
        "short_burn_rate": None,
        "budget_remaining": -0.05,
        "time_to_exhaustion_seconds": None,
        "objective": None,
        "window": None,
        "labels": {},
        "details": {"reason": "budget exhausted", "by": "policy"},
    }


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does, written from the webhook's docstring, not from its code."""
    timestamp = headers["x-slo-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    scheme, _, given = headers["x-slo-signature"].partition("=")
    return scheme == "sha256" and hmac.compare_digest(expected.hexdigest(), given)


@pytest.mark.parametrize(
    ("secret", "body", "tamper", "valid"),
    [
        ("s3cret", webhook_body(alert()), lambda b: b, True),
        ("s3cret", webhook_body(alert()), lambda b: b.replace(b"15.2", b"1.52"), False),
        ("s3cret", webhook_body(alert()), lambda b: b + b" ", False),
        ("ünïcode-secret", webhook_body(freeze()), lambda b: b, True),
    ],
    ids=["valid", "changed-number", "trailing-space", "unicode-secret"],
)
def test_webhook_signature_verifies_independently(
    secret: str, body: bytes, tamper: Any, valid: bool
) -> None:
    headers = {
        name.lower(): value for name, value in signed_headers(secret, body, 1767268800).items()
    }
    assert headers["x-slo-timestamp"] == "1767268800"
    assert verify(secret, headers, tamper(body)) is valid
    assert not verify("another secret", headers, body)
    replayed = {**headers, "x-slo-timestamp": "1767268801"}  # the time is signed too
    assert not verify(secret, replayed, body)


@pytest.mark.parametrize(
    ("kind", "config", "problems"),
    [
        (SlackNotifier, {"webhook_url": "https://hooks.slack.com/services/T/B/X"}, []),
        (SlackNotifier, {}, [("webhook_url",)]),
        (SlackNotifier, {"webhook_url": 42}, [("webhook_url",)]),
        (SlackNotifier, {"webhook_url": "hooks.slack.com/services/T/B/X"}, [("webhook_url",)]),
        (SlackNotifier, {"webhook_url": "ftp://hooks.slack.com/x"}, [("webhook_url",)]),
        (WebhookNotifier, {"url": "http://10.0.0.1:8080/hook"}, []),
        (WebhookNotifier, {"url": "https://x.example/h", "secret": "s"}, []),
        (WebhookNotifier, {"url": "https:///nohost"}, [("url",)]),
        (WebhookNotifier, {"url": "https://x.example/h", "secret": ""}, [("secret",)]),
        (WebhookNotifier, {"secret": 7}, [("url",), ("secret",)]),
    ],
    ids=[
        "slack-ok",
        "slack-missing",
        "slack-not-a-string",
        "slack-no-scheme",
        "slack-ftp",
        "webhook-ok",
        "webhook-with-secret",
        "webhook-no-host",
        "webhook-empty-secret",
        "webhook-nothing-right",
    ],
)
def test_url_checks(
    kind: type[SlackNotifier | WebhookNotifier],
    config: dict[str, Any],
    problems: list[tuple[str, ...]],
) -> None:
    with closing(kind()) as notifier:
        assert [path for path, _ in notifier.check(config)] == problems


NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (format_datetime(NOW + timedelta(seconds=30), usegmt=True), 30.0),
        ("Sun, 01 Mar 2026 12:02:00 GMT", 120.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
    ids=[
        "seconds",
        "spaces",
        "zero",
        "fraction",
        "http-date",
        "http-date-literal",
        "date-past",
        "garbage",
        "empty",
        "absent",
        "nan",
    ],
)
def test_retry_after(header: str | None, seconds: float | None) -> None:
    assert retry_after(header, now=NOW) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (12_000, "3h 20m"),
        (2 * 86400 + 4 * 3600 + 59, "2d 4h"),
        (3 * 86400, "3d"),
        (3600, "1h"),
        (12 * 60, "12m"),
        (59, "under 1m"),
        (-5, "under 1m"),
        (float("inf"), "never"),
        (1e30, "36500d"),
    ],
    ids=[
        "hours",
        "days",
        "whole-days",
        "one-hour",
        "minutes",
        "seconds",
        "negative",
        "inf",
        "huge",
    ],
)
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(0.12, "12.0%"), (-0.2, "-20.0%"), (1.0, "100.0%"), (0.0004, "0.0%"), (None, "no data")],
    ids=["part", "negative", "whole", "tiny", "none"],
)
def test_percent(fraction: float | None, text: str) -> None:
    assert percent(fraction) == text


@pytest.mark.parametrize(
    ("objective", "text"),
    [(0.999, "99.9%"), (0.99, "99%"), (0.99995, "99.995%"), (0.95, "95%")],
    ids=["three-nines", "two-nines", "four-and-a-half", "ninety-five"],
)
def test_objective_percent(objective: float, text: str) -> None:
    assert objective_percent(objective) == text
