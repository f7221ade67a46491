"""Slack through an incoming webhook: a Block Kit message that an on-call engineer can act on
from a phone's lock screen.

The top-level ``text`` is what notifications and screen readers show, so it carries the whole
alert in one line (with the fastest firing tier's numbers); the blocks repeat it with room: a
header (which SLO, which alert), the caller's summary with the numbers as fields (one field per
tier over its factor; for a no-data alert, since when and the source's last error instead), a
context line (service, labels, when) and a button to the SLO page. Block Kit refuses a message
outright when a limit is passed (header text over 150 characters, more than 10 fields, a field
over 2000), so every text is cut to its limit here rather than losing the alert. The webhook
URL is the credential: it is never put into a reason.
"""

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from slo_service.domain.windows import parse_duration
from slo_service.notify.base import (
    DEFAULT_TIMEOUT,
    Message,
    Outcome,
    Problem,
    TierBurn,
    config_rejected,
    duration_text,
    json_bytes,
    objective_percent,
    percent,
    times,
    truncate,
    utc,
)
from slo_service.notify.egress import PUBLIC_ONLY, EgressPolicy
from slo_service.notify.pinned import Resolver, system_resolver
from slo_service.notify.posting import HttpSender, check_destination, check_url

HEADER_LIMIT = 150  # Block Kit: header block, plain_text
TEXT_LIMIT = 3000  # Block Kit: a section's text; also kept for the top-level fallback
FIELD_LIMIT = 2000  # Block Kit: each section field
FIELDS_LIMIT = 10  # Block Kit: fields in a section
CONTEXT_LIMIT = 10  # Block Kit: elements in a context block
URL_LIMIT = 3000  # Block Kit: a button's url; a longer link is left out, never cut

# event (and the alert for alerts) → (emoji in the header, shortcode in the text, tag)
_LOOKS: dict[str, tuple[str, str, str]] = {
    "page": ("🔥", ":rotating_light:", "PAGE"),
    "ticket": ("⚠️", ":warning:", "TICKET"),
    "nodata": ("📭", ":mailbox_with_no_mail:", "NO DATA"),
    "labels_missing": ("🏷️", ":label:", "LABELS MISSING"),
    "resolve": ("✅", ":white_check_mark:", "RESOLVED"),
    "freeze_start": ("🧊", ":ice_cube:", "DEPLOY FREEZE"),
    "freeze_lift": ("🟢", ":large_green_circle:", "FREEZE LIFTED"),
    "test": ("🧪", ":test_tube:", "TEST"),
}


class SlackNotifier:
    """Posts to the config's ``webhook_url``; Slack answers 200 ``ok``, or 4xx with a reason
    (``invalid_payload``, ``channel_is_archived``, ...) that ends up in ``Rejected``. The
    webhook URL's host must pass ``egress`` (public addresses only, by default)."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        egress: EgressPolicy = PUBLIC_ONLY,
        resolve: Resolver = system_resolver,
    ) -> None:
        self._sender = HttpSender("Slack webhook", timeout=timeout, policy=egress, resolve=resolve)

    def close(self) -> None:
        self._sender.close()

    def check(self, config: Mapping[str, Any]) -> list[Problem]:
        return check_url(config, "webhook_url")

    def check_destination(self, config: Mapping[str, Any]) -> list[Problem]:
        return check_destination(self._sender, config, "webhook_url")

    def send(self, message: Message, config: Mapping[str, Any], *, idempotency_key: str) -> Outcome:
        problems = self.check(config)
        if problems:
            return config_rejected(problems)
        url: str = config["webhook_url"]
        body = json_bytes(slack_payload(message))
        return self._sender.post(url, body, idempotency_key=idempotency_key)


def slack_payload(message: Message) -> dict[str, Any]:
    """The incoming-webhook body for ``message``: ``text`` fallback and ``blocks``."""
    blocks: list[dict[str, Any]] = [_header(message), _section(message), _context(message)]
    if message.url and len(message.url) <= URL_LIMIT:
        blocks.append(_actions(message.url, _link_label(message)))
    return {"text": _fallback(message), "blocks": blocks}


def escape(text: str) -> str:
    """Slack's mrkdwn control characters as entities: a label value of "<a|b>" stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _looks(message: Message) -> tuple[str, str, str]:
    if message.event in ("trigger", "repeat"):
        emoji, code, tag = _LOOKS[_alert(message)]
        return emoji, code, f"{tag}, still firing" if message.event == "repeat" else tag
    if message.event == "resolve" and message.alert is not None:
        # An SLO has up to three alerts now: say which one this resolves.
        emoji, code, tag = _LOOKS["resolve"]
        return emoji, code, f"{tag} {_LOOKS[_alert(message)][2]}"
    return _LOOKS[message.event]


def _alert(message: Message) -> str:
    """The alert's key in ``_LOOKS``; its severity for an alert of a name unknown here."""
    known = ("page", "ticket", "nodata", "labels_missing")
    return message.alert if message.alert in known else message.severity


def _silent(message: Message) -> bool:
    """A no-data alert still firing: it shows since when, not burn rates (it has none)."""
    return message.alert == "nodata" and message.event in ("trigger", "repeat")


def _subject(message: Message) -> str:
    if message.slo is not None:
        return message.slo
    return f"{message.service} deploys" if message.event.startswith("freeze") else message.service


def _header(message: Message) -> dict[str, Any]:
    emoji, _, tag = _looks(message)
    text = truncate(f"{emoji} {tag}: {_subject(message)}", HEADER_LIMIT)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _fallback(message: Message) -> str:
    """One line for notifications: the fastest tier's numbers when there are some (or since
    when a silent source has been silent), else the summary."""
    _, code, tag = _looks(message)
    tiers = fastest_first(message.tiers)
    rate = tiers[0].long_burn_rate if tiers else None
    since = _silent_since(message) if _silent(message) else None
    if message.event in ("trigger", "repeat") and rate is not None:
        line = f"{_subject(message)} burning {times(rate)} its budget ({tiers[0].long_window})"
        if message.budget_remaining is not None:
            line += f", {percent(message.budget_remaining)} left"
        seconds = message.time_to_exhaustion_seconds
        if seconds is not None:
            line += (
                ", budget exhausted" if seconds <= 0 else f", exhausted in {_exhaustion(seconds)}"
            )
    elif message.event == "resolve" and rate is not None:
        line = f"{_subject(message)} back to {times(rate)} its budget ({tiers[0].long_window})"
    elif since is not None:
        line = f"{_subject(message)}: no data since {_readable(since)}"
    else:
        line = message.summary or _subject(message)
    return truncate(f"{code} [{tag}] {escape(line)}", TEXT_LIMIT)


def fastest_first(tiers: Sequence[TierBurn]) -> list[TierBurn]:
    """``tiers`` by long window, shortest first (custom tiers come in any order); a window
    that cannot be read goes last rather than losing the alert."""

    def seconds(tier: TierBurn) -> float:
        try:
            return parse_duration(tier.long_window).total_seconds()
        except ValueError:
            return math.inf

    return sorted(tiers, key=seconds)


def _section(message: Message) -> dict[str, Any]:
    summary = escape(message.summary) or escape(_subject(message))
    section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(summary, TEXT_LIMIT)},
    }
    rest = [*_silence(message), *_numbers(message), *_details(message)]
    fields = [*_tier_fields(message, room=FIELDS_LIMIT - len(rest)), *rest][:FIELDS_LIMIT]
    if fields:
        section["fields"] = [
            {"type": "mrkdwn", "text": truncate(text, FIELD_LIMIT)} for text in fields
        ]
    return section


def _tier_fields(message: Message, *, room: int) -> list[str]:
    """One field per tier, fastest first; a resolve reports the burn rates as now. When the
    tiers do not fit beside the other fields, the last that fits says how many are left out
    (the summary names them all): budget and time left matter more than a fifth tier."""
    resolved = message.event == "resolve"
    fields = [_tier_field(tier, resolved=resolved) for tier in fastest_first(message.tiers)]
    if len(fields) <= room:
        return fields
    if room < 2:  # no room for a note: the fastest tier says more than a count would
        return fields[:1]
    hidden = len(fields) - room + 1
    return [*fields[: room - 1], f"*{hidden} more tiers*\nin the summary above"]


def _tier_field(tier: TierBurn, *, resolved: bool) -> str:
    now, verb = (" now", "fired") if resolved else ("", "fires")
    rates = f"{times(tier.long_burn_rate)} / {times(tier.short_burn_rate)}"
    windows = f"{escape(tier.long_window)} / {escape(tier.short_window)}"
    return f"*Burn rate{now} {windows}*\n{rates} ({verb} over {times(tier.factor)})"


def _silence(message: Message) -> list[str]:
    """A silent source's fields, in place of burn rates: since when, and what it last said."""
    if not _silent(message):
        return []
    since = _silent_since(message)
    if since is None:
        shown = escape(str(message.details.get("no_data_since") or "unknown"))
    else:
        seconds = (utc(message.at) - since).total_seconds()
        shown = f"{_slack_date(since)} (for {duration_text(seconds)})"
    error = message.details.get("last_error")
    said = escape(" ".join(str(error).split())) if error else "none reported"
    return [f"*No data since*\n{shown}", f"*Source's last error*\n{said}"]


def _silent_since(message: Message) -> datetime | None:
    """``details.no_data_since`` (ISO 8601 in the outbox) as aware UTC; None if unreadable."""
    value = message.details.get("no_data_since")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    return utc(value) if isinstance(value, datetime) else None


def _numbers(message: Message) -> list[str]:
    """Fields for the message's budget numbers. A silent source's budget is as of its last
    data, and the time to exhaustion of a budget no one can see burning is not shown."""
    fields = []
    if message.budget_remaining is not None:
        left = percent(message.budget_remaining)
        if message.budget_remaining < 0:
            left += " (overspent)"
        label = "Error budget left at the last data" if _silent(message) else "Error budget left"
        fields.append(f"*{label}*\n{left}")
    if message.event in ("trigger", "repeat") and not _silent(message):
        seconds = message.time_to_exhaustion_seconds
        fields.append(
            "*Budget exhausted in*\n" + ("not burning" if seconds is None else _exhaustion(seconds))
        )
    if message.objective is not None:
        fields.append(f"*Objective*\n{objective_percent(message.objective)}")
    if message.window:
        fields.append(f"*Window*\n{escape(message.window)}")
    return fields


def _exhaustion(seconds: float) -> str:
    return "already exhausted" if seconds <= 0 else duration_text(seconds)


def _details(message: Message) -> list[str]:
    """The free-form details (a freeze's reason, who lifted it) as one field each. A no-data
    alert's are its own fields (``_silence``), and its resolve's would be out of date."""
    if message.alert == "nodata":
        return []
    return [
        f"*{escape(str(key).replace('_', ' ').capitalize())}*\n{escape(str(value))}"
        for key, value in message.details.items()
        if value is not None and value != ""
    ]


def _readable(at: datetime) -> str:
    return utc(at).strftime("%Y-%m-%d %H:%M UTC")


def _slack_date(at: datetime) -> str:
    """Slack shows the time in each reader's own time zone; the text after "|" is the fallback."""
    return f"<!date^{int(utc(at).timestamp())}^{{date_short_pretty}} {{time}}|{_readable(at)}>"


def _context(message: Message) -> dict[str, Any]:
    texts = [f"*Service* {escape(message.service)}"]
    if message.labels:
        texts.append(" ".join(f"`{escape(k)}={escape(v)}`" for k, v in message.labels.items()))
    texts.append(_slack_date(message.at))
    elements = [{"type": "mrkdwn", "text": truncate(text, FIELD_LIMIT)} for text in texts]
    return {"type": "context", "elements": elements[:CONTEXT_LIMIT]}


def _link_label(message: Message) -> str:
    if message.slo is not None:
        return "Open SLO page"
    return "Open deploy gate" if message.event.startswith("freeze") else "Open slo-service"


def _actions(url: str, label: str) -> dict[str, Any]:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "url": url,
        "action_id": "open-link",
    }
    return {"type": "actions", "elements": [button]}
