"""Slack through an incoming webhook: a Block Kit message that an on-call engineer can act on
from a phone's lock screen.

The top-level ``text`` is what notifications and screen readers show, so it carries the whole
alert in one line; the blocks repeat it with room: a header (which SLO, which severity), the
caller's summary with the numbers as fields, a context line (service, labels, when) and a
button to the SLO page. Block Kit refuses a message outright when a limit is passed (header
text over 150 characters, more than 10 fields, a field over 2000), so every text is cut to its
limit here rather than losing the alert. The webhook URL is the credential: it is never put
into a reason.
"""

from collections.abc import Mapping
from typing import Any

from slo_service.notify.base import (
    DEFAULT_TIMEOUT,
    HttpSender,
    Message,
    Outcome,
    Problem,
    check_url,
    config_rejected,
    duration_text,
    json_bytes,
    objective_percent,
    percent,
    times,
    truncate,
    utc,
)

HEADER_LIMIT = 150  # Block Kit: header block, plain_text
TEXT_LIMIT = 3000  # Block Kit: a section's text; also kept for the top-level fallback
FIELD_LIMIT = 2000  # Block Kit: each section field
FIELDS_LIMIT = 10  # Block Kit: fields in a section
CONTEXT_LIMIT = 10  # Block Kit: elements in a context block
URL_LIMIT = 3000  # Block Kit: a button's url; a longer link is left out, never cut

# event (and severity for alerts) → (emoji in the header, shortcode in the text, tag)
_LOOKS: dict[str, tuple[str, str, str]] = {
    "page": ("🔥", ":rotating_light:", "PAGE"),
    "ticket": ("⚠️", ":warning:", "TICKET"),
    "resolve": ("✅", ":white_check_mark:", "RESOLVED"),
    "freeze_start": ("🧊", ":ice_cube:", "DEPLOY FREEZE"),
    "freeze_lift": ("🟢", ":large_green_circle:", "FREEZE LIFTED"),
    "test": ("🧪", ":test_tube:", "TEST"),
}


class SlackNotifier:
    """Posts to the config's ``webhook_url``; Slack answers 200 ``ok``, or 4xx with a reason
    (``invalid_payload``, ``channel_is_archived``, ...) that ends up in ``Rejected``."""

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._sender = HttpSender("Slack webhook", timeout=timeout)

    def close(self) -> None:
        self._sender.close()

    def check(self, config: Mapping[str, Any]) -> list[Problem]:
        return check_url(config, "webhook_url")

    def send(self, message: Message, config: Mapping[str, Any], *, idempotency_key: str) -> Outcome:
        problems = self.check(config)
        if problems:
            return config_rejected(problems)
        url: str = config["webhook_url"]
        body = json_bytes(slack_payload(message))
        return self._sender.post(url, body, idempotency_key=idempotency_key, secrets=(url,))


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
        emoji, code, tag = _LOOKS[message.severity]
        return emoji, code, f"{tag}, still firing" if message.event == "repeat" else tag
    return _LOOKS[message.event]


def _subject(message: Message) -> str:
    if message.slo is not None:
        return message.slo
    return f"{message.service} deploys" if message.event.startswith("freeze") else message.service


def _header(message: Message) -> dict[str, Any]:
    emoji, _, tag = _looks(message)
    text = truncate(f"{emoji} {tag}: {_subject(message)}", HEADER_LIMIT)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def _fallback(message: Message) -> str:
    """One line for notifications: the numbers when there are some, else the summary."""
    _, code, tag = _looks(message)
    rate, window = message.long_burn_rate, message.long_window
    if message.event in ("trigger", "repeat") and rate is not None and window:
        line = f"{message.slo or message.service} burning {times(rate)} its budget ({window})"
        if message.budget_remaining is not None:
            line += f", {percent(message.budget_remaining)} left"
        seconds = message.time_to_exhaustion_seconds
        if seconds is not None:
            line += (
                ", budget exhausted" if seconds <= 0 else f", exhausted in {_exhaustion(seconds)}"
            )
    elif message.event == "resolve" and rate is not None and window:
        line = f"{message.slo or message.service} back to {times(rate)} its budget ({window})"
    else:
        line = message.summary or _subject(message)
    return truncate(f"{code} [{tag}] {escape(line)}", TEXT_LIMIT)


def _section(message: Message) -> dict[str, Any]:
    summary = escape(message.summary) or escape(_subject(message))
    section: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(summary, TEXT_LIMIT)},
    }
    fields = [*_numbers(message), *_details(message)][:FIELDS_LIMIT]
    if fields:
        section["fields"] = [
            {"type": "mrkdwn", "text": truncate(text, FIELD_LIMIT)} for text in fields
        ]
    return section


def _numbers(message: Message) -> list[str]:
    """Fields for the numbers the message has; a resolve reports the burn rates as now."""
    fields = []
    if message.long_window and message.short_window:
        now = " now" if message.event == "resolve" else ""
        rates = f"{times(message.long_burn_rate)} / {times(message.short_burn_rate)}"
        if message.factor is not None:
            verb = "fired" if message.event == "resolve" else "fires"
            rates += f" ({verb} over {times(message.factor)})"
        fields.append(f"*Burn rate{now} {message.long_window} / {message.short_window}*\n{rates}")
    if message.budget_remaining is not None:
        left = percent(message.budget_remaining)
        if message.budget_remaining < 0:
            left += " (overspent)"
        fields.append(f"*Error budget left*\n{left}")
    if message.event in ("trigger", "repeat"):
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
    """The free-form details (a freeze's reason, who lifted it) as one field each."""
    return [
        f"*{escape(str(key).replace('_', ' ').capitalize())}*\n{escape(str(value))}"
        for key, value in message.details.items()
        if value is not None and value != ""
    ]


def _context(message: Message) -> dict[str, Any]:
    at = utc(message.at)
    readable = at.strftime("%Y-%m-%d %H:%M UTC")
    texts = [f"*Service* {escape(message.service)}"]
    if message.labels:
        texts.append(" ".join(f"`{escape(k)}={escape(v)}`" for k, v in message.labels.items()))
    # Slack shows the time in each reader's own time zone; the text after "|" is the fallback.
    texts.append(f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{readable}>")
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
