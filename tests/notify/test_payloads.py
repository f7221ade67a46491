"""The channels' payloads, field by field, against the formats they are posted in: Slack's
Block Kit (and its limits), PagerDuty's Events API v2, and our own signed webhook; and the
outbox's stored messages (today's, and those queued before alerts were per SLO and severity)
rendered by each channel."""

import hashlib
import hmac
import json
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from slo_service.notify.base import (
    Message,
    TierBurn,
    duration_text,
    objective_percent,
    percent,
)
from slo_service.notify.pagerduty import PagerDutyNotifier, dedup_key, pagerduty_event
from slo_service.notify.posting import retry_after
from slo_service.notify.slack import SlackNotifier, slack_payload
from slo_service.notify.webhook import (
    WebhookNotifier,
    signed_headers,
    webhook_body,
    webhook_payload,
)
from slo_service.services.alerting.delivery import message_of

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # 32 letters and digits, like PagerDuty's
SLO_URL = "https://slo.example.com/slos/7"
FAST = TierBurn("page", "1h", "5m", 14.4, 15.2, 18.0)
SLOW = TierBurn("page", "6h", "30m", 6.0, 7.5, 9.0)
DAILY = TierBurn("ticket", "1d", "2h", 3.0, 4.0, 5.0)


def alert(**changes: Any) -> Message:
    """The page of churn-model:availability firing on its 1h/5m tier, changed by ``changes``."""
    message = Message(
        event="trigger",
        dedup_key="slo-7-page",
        service="churn-model",
        slo="churn-model:availability",
        severity="page",
        summary="churn-model:availability is burning its error budget 15.2x too fast",
        at=AT,
        url=SLO_URL,
        alert="page",
        tiers=(FAST,),
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


def ticket(**changes: Any) -> Message:
    """The ticket of churn-model:availability firing on its 1d/2h tier."""
    return replace(
        alert(dedup_key="slo-7-ticket", severity="ticket", alert="ticket", tiers=(DAILY,)),
        **changes,
    )


def silent(**changes: Any) -> Message:
    """The no-data ticket of churn-model:availability: no data for the last two hours."""
    details = {"no_data_since": "2026-03-01T10:00:00+00:00", "last_error": "timed out"}
    message = alert(dedup_key="slo-7-nodata", severity="ticket", alert="nodata", tiers=(),
                    time_to_exhaustion_seconds=None, details=details)  # fmt: skip
    return replace(message, **changes)


def many_tiers(count: int) -> tuple[TierBurn, ...]:
    """``count`` page tiers, slowest first: long windows of count..1 hours."""
    return tuple(TierBurn("page", f"{n}h", "5m", 2.0, 3.0 + n, 4.0) for n in range(count, 0, -1))


RESOLVED = alert(
    event="resolve",
    tiers=(TierBurn("page", "1h", "5m", 14.4, 0.8, 0.2),),
    summary="recovered",
)
MESSAGES = [
    alert(),
    alert(tiers=(FAST, SLOW)),
    ticket(),
    alert(event="repeat"),
    RESOLVED,
    silent(),
    silent(event="repeat"),
    silent(event="resolve", details={"no_data_since": "2026-03-01T12:00:00+00:00"}),
    freeze(),
    freeze(event="freeze_lift", summary="churn-model deploys are open again"),
    alert(event="test", slo=None, alert=None, tiers=(), summary="a test", url=None, labels={}),
    alert(slo="x" * 500 + ":availability", summary="y" * 5000, labels={"k": "v" * 3000}),
    alert(tiers=many_tiers(30), details={f"d{n}": "z" * 2500 for n in range(15)}),
    silent(details={"no_data_since": AT.isoformat(), "last_error": "e <&> " * 2000}),
    freeze(details={f"detail_{n}": "z" * 2500 for n in range(15)}),
]
MESSAGE_IDS = [
    "page",
    "page-two-tiers",
    "ticket",
    "repeat",
    "resolve",
    "nodata",
    "nodata-repeat",
    "nodata-resolve",
    "freeze-start",
    "freeze-lift",
    "test",
    "oversized-texts",
    "too-many-tiers-and-details",
    "nodata-oversized-error",
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
            ticket(time_to_exhaustion_seconds=None),
            ":warning: [TICKET] churn-model:availability burning 4.0x its budget (1d), 12.0% left",
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
            alert(tiers=(SLOW, FAST)),  # the fastest tier speaks, in whatever order they come
            ":rotating_light: [PAGE] churn-model:availability burning 15.2x its budget (1h), "
            "12.0% left, exhausted in 3h 20m",
            "🔥 PAGE: churn-model:availability",
        ),
        (
            RESOLVED,
            ":white_check_mark: [RESOLVED PAGE] churn-model:availability back to 0.8x its "
            "budget (1h)",
            "✅ RESOLVED PAGE: churn-model:availability",
        ),
        (
            ticket(event="resolve"),
            ":white_check_mark: [RESOLVED TICKET] churn-model:availability back to 4.0x its "
            "budget (1d)",
            "✅ RESOLVED TICKET: churn-model:availability",
        ),
        (
            silent(),
            ":mailbox_with_no_mail: [NO DATA] churn-model:availability: no data since "
            "2026-03-01 10:00 UTC",
            "📭 NO DATA: churn-model:availability",
        ),
        (
            silent(event="repeat"),
            ":mailbox_with_no_mail: [NO DATA, still firing] churn-model:availability: no data",
            "📭 NO DATA, still firing: churn-model:availability",
        ),
        (
            silent(event="resolve", summary="churn-model:availability: data is back"),
            ":white_check_mark: [RESOLVED NO DATA] churn-model:availability: data is back",
            "✅ RESOLVED NO DATA: churn-model:availability",
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
            alert(event="test", slo=None, alert=None, tiers=(), summary="a test from slo-service"),
            ":test_tube: [TEST] a test from slo-service",
            "🧪 TEST: churn-model",
        ),
        (
            alert(tiers=(replace(FAST, long_burn_rate=None),), summary="no data & <no> numbers"),
            ":rotating_light: [PAGE] no data &amp; &lt;no&gt; numbers",
            "🔥 PAGE: churn-model:availability",
        ),
    ],
    ids=[
        "page",
        "ticket",
        "exhausted",
        "repeat",
        "fastest-of-two",
        "resolve",
        "resolve-ticket",
        "nodata",
        "nodata-repeat",
        "nodata-resolve",
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
            alert(time_to_exhaustion_seconds=0, tiers=(replace(FAST, short_burn_rate=None),)),
            [
                "*Burn rate 1h / 5m*\n15.2x / no data (fires over 14.4x)",
                "*Error budget left*\n12.0%",
                "*Budget exhausted in*\nalready exhausted",
                "*Objective*\n99.9%",
                "*Window*\n30d",
            ],
        ),
        (
            alert(tiers=(SLOW, FAST), window="28d"),  # fastest first, whatever their order
            [
                "*Burn rate 1h / 5m*\n15.2x / 18.0x (fires over 14.4x)",
                "*Burn rate 6h / 30m*\n7.5x / 9.0x (fires over 6.0x)",
                "*Error budget left*\n12.0%",
                "*Budget exhausted in*\n3h 20m",
                "*Objective*\n99.9%",
                "*Window*\n28d",
            ],
        ),
        (
            ticket(),
            [
                "*Burn rate 1d / 2h*\n4.0x / 5.0x (fires over 3.0x)",
                "*Error budget left*\n12.0%",
                "*Budget exhausted in*\n3h 20m",
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
            silent(),
            [
                "*No data since*\n<!date^1772359200^{date_short_pretty} {time}|"
                "2026-03-01 10:00 UTC> (for 2h)",
                "*Source's last error*\ntimed out",
                "*Error budget left at the last data*\n12.0%",
                "*Objective*\n99.9%",
                "*Window*\n30d",
            ],
        ),
        (
            silent(details={"no_data_since": "yesterday", "last_error": "<b>\n 503 &\tgone"}),
            [
                "*No data since*\nyesterday",
                "*Source's last error*\n&lt;b&gt; 503 &amp; gone",
                "*Error budget left at the last data*\n12.0%",
                "*Objective*\n99.9%",
                "*Window*\n30d",
            ],
        ),
        (
            silent(details={"no_data_since": AT - timedelta(minutes=30), "last_error": None}),
            [
                "*No data since*\n<!date^1772364600^{date_short_pretty} {time}|"
                "2026-03-01 11:30 UTC> (for 30m)",
                "*Source's last error*\nnone reported",
                "*Error budget left at the last data*\n12.0%",
                "*Objective*\n99.9%",
                "*Window*\n30d",
            ],
        ),
        (
            silent(event="resolve", details={"no_data_since": AT.isoformat(), "last_error": None}),
            ["*Error budget left*\n12.0%", "*Objective*\n99.9%", "*Window*\n30d"],
        ),
        (
            alert(event="test", slo=None, tiers=(), objective=None, window=None),
            ["*Error budget left*\n12.0%"],
        ),
    ],
    ids=[
        "page",
        "overspent-not-burning",
        "exhausted",
        "two-tiers",
        "ticket",
        "resolve",
        "freeze",
        "nodata",
        "nodata-unreadable",
        "nodata-datetime-no-error",
        "nodata-resolve",
        "test",
    ],
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


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (6, ["1h", "2h", "3h", "4h", "5h", "6h"]),
        (7, ["1h", "2h", "3h", "4h", "5h", "*2 more tiers*"]),
        (30, ["1h", "2h", "3h", "4h", "5h", "*25 more tiers*"]),
    ],
    ids=["six-fit", "seven", "thirty"],
)
def test_slack_tiers_leave_room_for_the_budget(count: int, shown: list[str]) -> None:
    """Four budget fields leave six for tiers: five and a count of the rest when over."""
    fields = _fields(alert(tiers=many_tiers(count)))
    assert len(fields) == 10
    titles = [field.split("\n")[0] for field in fields[:6]]
    assert [t.removeprefix("*Burn rate ").removesuffix(" / 5m*") for t in titles] == shown
    assert fields[5] == (
        "*Burn rate 6h / 5m*\n9.0x / 4.0x (fires over 2.0x)"
        if count == 6
        else f"*{count - 5} more tiers*\nin the summary above"
    )
    assert fields[-4:] == [
        "*Error budget left*\n12.0%",
        "*Budget exhausted in*\n3h 20m",
        "*Objective*\n99.9%",
        "*Window*\n30d",
    ]


def test_slack_keeps_the_fastest_tier_when_details_fill_the_fields() -> None:
    crowded = alert(tiers=(SLOW, FAST), details={f"d{n}": "x" for n in range(9)})
    fields = _fields(crowded)
    assert len(fields) == 10
    assert fields[0] == "*Burn rate 1h / 5m*\n15.2x / 18.0x (fires over 14.4x)"
    assert not any(field.startswith("*Burn rate 6h") for field in fields)


def test_slack_nodata_shows_no_burn_rate() -> None:
    payload = slack_payload(silent())
    shown = json.dumps(payload)
    assert "Burn rate" not in shown
    assert "exhausted" not in shown  # no one can see its budget burn
    assert "burning" not in payload["text"]


# --- PagerDuty ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "action", "severity"),
    [
        (alert(), "trigger", "critical"),
        (alert(severity="ticket"), "trigger", "warning"),
        (ticket(), "trigger", "warning"),
        (silent(), "trigger", "warning"),
        (alert(event="repeat"), "trigger", "critical"),
        (alert(event="test"), "trigger", "critical"),
        (freeze(), "trigger", "warning"),
        (RESOLVED, "resolve", None),
        (freeze(event="freeze_lift"), "resolve", None),
    ],
    ids=[
        "page",
        "ticket-severity",
        "ticket",
        "nodata",
        "repeat",
        "test",
        "freeze-start",
        "resolve",
        "freeze-lift",
    ],
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
        "alert": "page",
        "severity": "page",
        "tiers": [
            {
                "severity": "page",
                "long_window": "1h",
                "short_window": "5m",
                "factor": 14.4,
                "long_burn_rate": 15.2,
                "short_burn_rate": 18.0,
            }
        ],
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
    [RESOLVED, silent(event="resolve"), freeze(event="freeze_lift")],
    ids=["resolve", "nodata-resolve", "freeze-lift"],
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
    payload = pagerduty_event(freeze(objective=float("nan")), ROUTING_KEY)["payload"]
    assert "component" not in payload
    assert payload["class"] == "error-budget-freeze"
    assert payload["custom_details"]["details"] == {"reason": "budget exhausted", "by": "policy"}
    assert "objective" not in payload["custom_details"]  # NaN is not JSON: left out
    assert "alert" not in payload["custom_details"]  # a freeze is no alert
    assert "tiers" not in payload["custom_details"]


def test_pagerduty_tier_without_data_leaves_the_rate_out() -> None:
    unknown = alert(tiers=(replace(FAST, long_burn_rate=float("nan"), short_burn_rate=None),))
    (tier,) = pagerduty_event(unknown, ROUTING_KEY)["payload"]["custom_details"]["tiers"]
    assert tier == {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 14.4}
    json.dumps(tier, allow_nan=False)


def test_pagerduty_long_dedup_keys_stay_distinct_and_stable() -> None:
    first, second = "k" * 300 + "-1", "k" * 300 + "-2"
    assert len(dedup_key(first)) == 255
    assert dedup_key(first) == dedup_key(first)
    assert dedup_key(first) != dedup_key(second)
    assert dedup_key("slo-7-page") == "slo-7-page"
    assert dedup_key("slo-7-page-1h-5m") == "slo-7-page-1h-5m"  # a former per-tier key


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
        "version": 2,
        "event": "freeze_start",
        "dedup_key": "freeze-churn-model",
        "service": "churn-model",
        "slo": None,
        "severity": "page",
        "summary": message.summary,
        "at": "2026-03-01T12:00:00+00:00",
        "url": "https://slo.example.com/services/churn-model/gate",
        "alert": None,
        "tiers": [],
        "budget_remaining": -0.05,
        "time_to_exhaustion_seconds": None,
        "objective": None,
        "window": None,
        "labels": {},
        "details": {"reason": "budget exhausted", "by": "policy"},
    }


def test_webhook_body_has_the_alert_and_its_tiers() -> None:
    body = json.loads(webhook_body(alert(tiers=(FAST, SLOW))))
    assert body["version"] == 2
    assert body["alert"] == "page"
    assert body["tiers"] == [
        {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 14.4,
         "long_burn_rate": 15.2, "short_burn_rate": 18.0},
        {"severity": "page", "long_window": "6h", "short_window": "30m", "factor": 6.0,
         "long_burn_rate": 7.5, "short_burn_rate": 9.0},
    ]  # fmt: skip
    assert not {"long_window", "short_window", "factor", "long_burn_rate"} & set(body)


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
        (WebhookNotifier, {"url": "https://x.example:99999/h"}, [("url",)]),
        (WebhookNotifier, {"url": "https://x.example:0/h"}, [("url",)]),
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
        "webhook-port-out-of-range",
        "webhook-port-0",
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


# --- The outbox's messages, as each channel renders them ----------------------------------

STORED_AT = "2026-03-01T12:00:00+00:00"
BASE_URL = "https://slo.example.com"
PAGE_1H = {"severity": "page", "long_window": "1h", "short_window": "5m", "factor": 14.4,
           "long_burn_rate": 98.1, "short_burn_rate": 102.0}  # fmt: skip
PAGE_6H = {"severity": "page", "long_window": "6h", "short_window": "30m", "factor": 6.0,
           "long_burn_rate": 40.2, "short_burn_rate": 95.0}  # fmt: skip
TICKET_1D = {"severity": "ticket", "long_window": "1d", "short_window": "2h", "factor": 3.0,
             "long_burn_rate": 4.1, "short_burn_rate": 5.2}  # fmt: skip


def stored(**changes: Any) -> dict[str, Any]:
    """An outbox message as ``alerting._message`` writes it: churn's page, firing on two tiers
    (the slower first: the outbox keeps the SLO's order, Slack shows the fastest first)."""
    message = {
        "event": "trigger", "dedup_key": "slo-1-page", "service": "churn",
        "slo": "churn:availability", "alert": "page", "severity": "page",
        "summary": "churn:availability burns its error budget too fast: 40.2x over 6h and "
                   "95.0x over 30m (over 6x); 98.1x over 1h and 102.0x over 5m (over 14.4x)",
        "at": STORED_AT, "path": "/slos/1", "tiers": [PAGE_6H, PAGE_1H],
        "budget_remaining": 0.42, "time_to_exhaustion_seconds": 1234.0, "objective": 0.999,
        "window": "30d", "labels": {"team": "ml"}, "details": {},
    }  # fmt: skip
    return {**message, **changes}


def stored_silence(**changes: Any) -> dict[str, Any]:
    details = {"no_data_since": "2026-03-01T09:00:00+00:00", "last_error": "HTTP 503 <html>"}
    silence = stored(
        dedup_key="slo-1-nodata",
        alert="nodata",
        severity="ticket",
        tiers=[],
        time_to_exhaustion_seconds=None,
        details=details,
        summary="churn:availability: no data from its source since 09:00 UTC",
    )
    return {**silence, **changes}


def legacy(**changes: Any) -> dict[str, Any]:
    """A message queued before the upgrade: one tier, its numbers at the top level."""
    message = {
        "event": "trigger", "dedup_key": "slo-1-page-1h-5m", "service": "churn",
        "slo": "churn:availability", "severity": "page",
        "summary": "churn:availability burns its error budget 98.1x over 1h and 102.0x over 5m "
                   "(fires over 14.4x)",
        "at": STORED_AT, "path": "/slos/1", "long_window": "1h", "short_window": "5m",
        "factor": 14.4, "long_burn_rate": 98.1, "short_burn_rate": 102.0,
        "budget_remaining": 0.42, "time_to_exhaustion_seconds": 1234.0, "objective": 0.999,
        "window": "30d", "labels": {}, "details": {},
    }  # fmt: skip
    return {**message, **changes}


@dataclass(frozen=True)
class Case:
    """A stored message and what each channel must make of it."""

    stored: dict[str, Any]
    header: str  # Slack
    text: str  # Slack's fallback, in full
    fields: list[str]  # Slack's section fields, in full
    severity: str | None  # PagerDuty's payload severity; None for a resolve (no payload)
    pd_class: str | None
    alert: str  # PagerDuty's custom_details and the webhook's body
    tiers: list[dict[str, Any]]  # PagerDuty's custom_details and the webhook's body


BUDGET = ["*Error budget left*\n42.0%", "*Budget exhausted in*\n20m", "*Objective*\n99.9%",
          "*Window*\n30d"]  # fmt: skip
CASES = {
    "page-two-tiers": Case(
        stored(),
        "🔥 PAGE: churn:availability",
        ":rotating_light: [PAGE] churn:availability burning 98.1x its budget (1h), 42.0% left, "
        "exhausted in 20m",
        ["*Burn rate 1h / 5m*\n98.1x / 102.0x (fires over 14.4x)",
         "*Burn rate 6h / 30m*\n40.2x / 95.0x (fires over 6.0x)", *BUDGET],
        "critical", "slo-burn-rate", "page", [PAGE_6H, PAGE_1H],
    ),
    "ticket-one-tier": Case(
        stored(dedup_key="slo-1-ticket", alert="ticket", severity="ticket", tiers=[TICKET_1D],
               time_to_exhaustion_seconds=3 * 86400.0),
        "⚠️ TICKET: churn:availability",
        ":warning: [TICKET] churn:availability burning 4.1x its budget (1d), 42.0% left, "
        "exhausted in 3d",
        ["*Burn rate 1d / 2h*\n4.1x / 5.2x (fires over 3.0x)", "*Error budget left*\n42.0%",
         "*Budget exhausted in*\n3d", "*Objective*\n99.9%", "*Window*\n30d"],
        "warning", "slo-burn-rate", "ticket", [TICKET_1D],
    ),
    "resolve": Case(
        stored(event="resolve", summary="churn:availability: page resolved",
               tiers=[{**PAGE_1H, "long_burn_rate": 0.8, "short_burn_rate": 0.0}]),
        "✅ RESOLVED PAGE: churn:availability",
        ":white_check_mark: [RESOLVED PAGE] churn:availability back to 0.8x its budget (1h)",
        ["*Burn rate now 1h / 5m*\n0.8x / 0.0x (fired over 14.4x)",
         "*Error budget left*\n42.0%", "*Objective*\n99.9%", "*Window*\n30d"],
        None, None, "page", [{**PAGE_1H, "long_burn_rate": 0.8, "short_burn_rate": 0.0}],
    ),
    "nodata": Case(
        stored_silence(),
        "📭 NO DATA: churn:availability",
        ":mailbox_with_no_mail: [NO DATA] churn:availability: no data since 2026-03-01 09:00 UTC",
        ["*No data since*\n<!date^1772355600^{date_short_pretty} {time}|2026-03-01 09:00 UTC>"
         " (for 3h)", "*Source's last error*\nHTTP 503 &lt;html&gt;",
         "*Error budget left at the last data*\n42.0%", "*Objective*\n99.9%", "*Window*\n30d"],
        "warning", "slo-no-data", "nodata", [],
    ),
    "nodata-resolve": Case(
        stored_silence(event="resolve", summary="churn:availability: data is back",
                       details={"no_data_since": STORED_AT, "last_error": None}),
        "✅ RESOLVED NO DATA: churn:availability",
        ":white_check_mark: [RESOLVED NO DATA] churn:availability: data is back",
        ["*Error budget left*\n42.0%", "*Objective*\n99.9%", "*Window*\n30d"],
        None, None, "nodata", [],
    ),
    "legacy": Case(
        legacy(),
        "🔥 PAGE: churn:availability",
        ":rotating_light: [PAGE] churn:availability burning 98.1x its budget (1h), 42.0% left, "
        "exhausted in 20m",
        ["*Burn rate 1h / 5m*\n98.1x / 102.0x (fires over 14.4x)", *BUDGET],
        "critical", "slo-burn-rate", "page", [PAGE_1H],
    ),
    "legacy-resolve": Case(
        legacy(event="resolve", summary="churn:availability: burn rate back under 14.4x",
               long_burn_rate=0.5, short_burn_rate=None, time_to_exhaustion_seconds=None),
        "✅ RESOLVED PAGE: churn:availability",
        ":white_check_mark: [RESOLVED PAGE] churn:availability back to 0.5x its budget (1h)",
        ["*Burn rate now 1h / 5m*\n0.5x / no data (fired over 14.4x)",
         "*Error budget left*\n42.0%", "*Objective*\n99.9%", "*Window*\n30d"],
        None, None, "page",
        [{**PAGE_1H, "long_burn_rate": 0.5, "short_burn_rate": None}],
    ),
}  # fmt: skip


def _case_message(case: Case) -> Message:
    return message_of(json.loads(json.dumps(case.stored)), BASE_URL)  # as the outbox keeps it


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_stored_message_on_slack(case: Case) -> None:
    payload = slack_payload(_case_message(case))
    assert payload["blocks"][0]["text"]["text"] == case.header
    assert payload["text"] == case.text
    assert [item["text"] for item in payload["blocks"][1]["fields"]] == case.fields
    (button,) = payload["blocks"][3]["elements"]
    assert button["url"] == f"{BASE_URL}/slos/1"


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_stored_message_on_pagerduty(case: Case) -> None:
    event = pagerduty_event(_case_message(case), ROUTING_KEY)
    assert event["dedup_key"] == case.stored["dedup_key"]
    if case.severity is None:  # a resolve carries the keys and nothing else
        assert event == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                         "dedup_key": case.stored["dedup_key"]}  # fmt: skip
        return
    assert event["event_action"] == "trigger"
    payload = event["payload"]
    assert (payload["severity"], payload["class"]) == (case.severity, case.pd_class)
    assert payload["summary"] == case.stored["summary"]
    details = payload["custom_details"]
    assert details["alert"] == case.alert
    assert details.get("tiers", []) == case.tiers  # left out when there are none
    assert not {"long_window", "short_window", "factor", "long_burn_rate"} & set(details)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_stored_message_on_the_webhook(case: Case) -> None:
    body = json.loads(webhook_body(_case_message(case)))
    assert (body["version"], body["event"]) == (2, case.stored["event"])
    assert (body["alert"], body["tiers"]) == (case.alert, case.tiers)
    assert body["url"] == f"{BASE_URL}/slos/1"
    assert "path" not in body
    assert not {"long_window", "short_window", "factor", "long_burn_rate"} & set(body)


@pytest.mark.parametrize("case", [CASES["nodata"], CASES["nodata-resolve"]], ids=["fire", "end"])
def test_stored_nodata_shows_no_burn_rate(case: Case) -> None:
    message = _case_message(case)
    slack = json.dumps(slack_payload(message))
    assert "Burn rate" not in slack
    assert "burning" not in slack
    details = json.dumps(pagerduty_event(message, ROUTING_KEY).get("payload", {}))
    assert "burn_rate" not in details


@pytest.mark.parametrize(
    ("stored_message", "alert_name", "tiers"),
    [
        (legacy(), "page", (TierBurn("page", "1h", "5m", 14.4, 98.1, 102.0),)),
        (legacy(severity="ticket", long_window="3d", short_window="6h", factor=1,
                long_burn_rate=None, short_burn_rate=2),
         "ticket", (TierBurn("ticket", "3d", "6h", 1.0, None, 2.0),)),
        (stored(), "page", (TierBurn("page", "6h", "30m", 6.0, 40.2, 95.0),
                            TierBurn("page", "1h", "5m", 14.4, 98.1, 102.0))),
        (stored_silence(), "nodata", ()),
        ({**stored(), "event": "freeze_start", "alert": None, "tiers": None}, None, ()),
        ({key: value for key, value in legacy().items()
          if key not in {"long_window", "short_window", "factor", "long_burn_rate",
                         "short_burn_rate"}}, None, ()),
    ],
    ids=["legacy-page", "legacy-ticket-no-long-rate", "current", "nodata", "freeze", "old-freeze"],
)  # fmt: skip
def test_message_of_builds_the_tiers(
    stored_message: dict[str, Any], alert_name: str | None, tiers: tuple[TierBurn, ...]
) -> None:
    message = message_of(stored_message, BASE_URL + "/")
    assert (message.alert, tuple(message.tiers)) == (alert_name, tiers)
    assert message.url == f"{BASE_URL}/slos/1"
    assert message.at == AT
