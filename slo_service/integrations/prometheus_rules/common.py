"""What the recordings and the alerts both read of an SLO: its labels, the length of its
window and its effective alerting settings."""

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from slo_service.domain import alert_settings
from slo_service.domain.alert_settings import AlertSettings
from slo_service.domain.burn import Tier, nominal_length
from slo_service.domain.sli import SliSpec
from slo_service.domain.windows import parse_window
from slo_service.integrations.prometheus_rules.labels import NATIVE, LabelSet
from slo_service.integrations.prometheus_rules.promql import events_selector
from slo_service.models import SLO

# The rules are read by Prometheus, which has no buckets of its own: tiers are rounded to the
# minute, the finest window a rule can state.
BUCKET = timedelta(minutes=1)
RUNBOOK_LABEL = "runbook_url"

Group = dict[str, Any]
Rule = dict[str, Any]
_NOT_A_LABEL_CHAR = re.compile(r"[^A-Za-z0-9_]")


def period_of(slo: SLO) -> timedelta:
    """The length the window's recording uses: a calendar month counts 30d, a week 7d."""
    return nominal_length(parse_window(slo.window))


def settings_of(slo: SLO, service_alerting: Mapping[str, Any] | None = None) -> AlertSettings:
    """The SLO's effective alerting settings, as the service itself alerts by them."""
    return alert_settings.effective(
        slo.alerting, service_alerting, window=slo.window, bucket=BUCKET
    )


def own_labels(slo: SLO, labels: LabelSet = NATIVE) -> dict[str, str]:
    """The SLO's labels as Prometheus labels: other characters become ``_``; the names the
    rules set themselves (``labels.reserved``), names starting ``__`` and ``runbook_url`` (an
    annotation instead) are left out."""
    found: dict[str, str] = {}
    for key in sorted(slo.labels or {}):
        name = _NOT_A_LABEL_CHAR.sub("_", key)
        if key != RUNBOOK_LABEL and name not in labels.reserved and not name.startswith("__"):
            found[name] = str(slo.labels[key])
    return found


def identity(slo: SLO, labels: LabelSet = NATIVE) -> dict[str, str]:
    """The labels that name the SLO on every rule: its id, service and name."""
    return labels.identity(slo)


def alerting_tiers(settings: AlertSettings) -> tuple[Tier, ...]:
    """The tiers the rules alert on: none when alerting is disabled."""
    return settings.tiers if settings.enabled else ()


def guarded(sli: SliSpec, settings: AlertSettings) -> bool:
    """Whether the tiers' conditions need ``min_events`` in their short windows."""
    return settings.min_events > 0 and events_selector(sli) is not None
