"""The channel types, by the ``type`` of a route's channel: their notifiers and the fields of
their settings (which of those are secrets, never shown again once stored)."""

from collections.abc import Mapping

from slo_service.notify.base import Notifier
from slo_service.notify.egress import PUBLIC_ONLY, EgressPolicy
from slo_service.notify.pagerduty import PagerDutyNotifier
from slo_service.notify.pinned import Resolver, system_resolver
from slo_service.notify.slack import SlackNotifier
from slo_service.notify.webhook import WebhookNotifier

# Every field a channel of each type may have; "type" and "name" are common to all.
FIELDS: Mapping[str, frozenset[str]] = {
    "slack": frozenset({"webhook_url"}),
    "pagerduty": frozenset({"routing_key"}),
    "webhook": frozenset({"url", "secret"}),
}
# Write-only: a Slack webhook URL or a webhook's URL carries its own credentials.
SECRETS: Mapping[str, frozenset[str]] = FIELDS


def notifiers(
    *,
    pagerduty_url: str,
    timeout: float,
    egress: EgressPolicy = PUBLIC_ONLY,
    resolve: Resolver = system_resolver,
) -> dict[str, Notifier]:
    """The notifiers by channel type. ``egress`` judges where Slack and webhook channels send
    (their URLs are an API caller's); PagerDuty's URL is the operator's, and is trusted."""
    return {
        "slack": SlackNotifier(timeout=timeout, egress=egress, resolve=resolve),
        "pagerduty": PagerDutyNotifier(pagerduty_url, timeout=timeout),
        "webhook": WebhookNotifier(timeout=timeout, egress=egress, resolve=resolve),
    }
