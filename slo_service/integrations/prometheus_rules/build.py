"""Every SLO's rule groups, by service: its recordings and alerts, or why it has none."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from slo_service.domain.sli import SLI_ADAPTER
from slo_service.integrations.prometheus_rules.alerts import alerts
from slo_service.integrations.prometheus_rules.common import Group, settings_of
from slo_service.integrations.prometheus_rules.labels import NATIVE, LabelSet
from slo_service.integrations.prometheus_rules.promql import skip_reason
from slo_service.integrations.prometheus_rules.recordings import recordings
from slo_service.integrations.prometheus_rules.sloth import sloth_recordings
from slo_service.models import SLO


@dataclass(frozen=True)
class Skipped:
    """An SLO that has no Prometheus rules, and why."""

    service: str
    name: str
    reason: str


@dataclass(frozen=True)
class Export:
    """Rule groups per service (services with rules only), and the SLOs skipped."""

    groups: dict[str, list[Group]]
    skipped: list[Skipped]


def slo_groups(
    slo: SLO,
    *,
    base_url: str,
    service_alerting: Mapping[str, Any] | None = None,
    labels: LabelSet = NATIVE,
) -> list[Group] | Skipped:
    """The rule groups of one SLO, or why it has none; ``service_alerting`` is its service
    policy's ``alerting`` (defaults for ``min_events`` and ``no_data_for``). With Sloth's
    labels, the recordings group ends with Sloth's own recordings (``sloth``)."""
    sli = SLI_ADAPTER.validate_python(slo.sli)
    reason = skip_reason(sli)
    if reason is not None:
        return Skipped(slo.service, slo.name, reason)
    settings = settings_of(slo, service_alerting)
    recorded = recordings(slo, sli, settings, labels)
    if labels.name == "sloth":
        recorded["rules"] += sloth_recordings(slo, settings)
    groups = [recorded]
    found = alerts(slo, sli, settings, base_url=base_url, labels=labels)
    if found:
        groups.append({"name": f"slo-service-{slo.service}-{slo.name}-alerts", "rules": found})
    return groups


def export(
    slos: Iterable[SLO],
    *,
    base_url: str,
    service_alerting: Mapping[str, Mapping[str, Any]] | None = None,
    labels: LabelSet = NATIVE,
) -> Export:
    """The rule groups of every SLO, by service, in the order given; ``service_alerting``
    holds the ``alerting`` of the services' policies, by service (none: the defaults);
    ``labels`` the label names (ours, or Sloth's)."""
    groups: dict[str, list[Group]] = {}
    skipped: list[Skipped] = []
    policies = service_alerting or {}
    for slo in slos:
        found = slo_groups(
            slo, base_url=base_url, service_alerting=policies.get(slo.service), labels=labels
        )
        if isinstance(found, Skipped):
            skipped.append(found)
        else:
            groups.setdefault(slo.service, []).extend(found)
    return Export(groups, skipped)
