"""The labels that name an SLO on its rules: ours, or Sloth's (``rules export --labels``).

- ``native`` (the default): ``slo_id`` (the SLO's id here), ``slo_service``, ``slo_name`` and,
  on the windowed recordings, ``slo_window``.
- ``sloth``: Sloth's names, which its Grafana dashboards select by: ``sloth_id``
  (``<service>-<name>``, as Sloth makes it), ``sloth_service``, ``sloth_slo``,
  ``sloth_window``; the burn alerts carry ``sloth_severity`` (``page`` or ``ticket``) besides
  ``severity``, as Sloth's do, for the dashboards' alert panels.

Each set reserves its names (and ``alertname``, ``severity``): an SLO label of such a name is
left out, so that it never overrides what the rules set.
"""

from dataclasses import dataclass
from typing import Literal

from slo_service.models import SLO

LabelsName = Literal["native", "sloth"]


@dataclass(frozen=True)
class LabelSet:
    """The label names one set gives an SLO's id, service, name, window and severity."""

    name: LabelsName
    id: str
    service: str
    slo: str
    window: str
    # The label that repeats a burn alert's severity (Sloth's ``sloth_severity``); None: none.
    severity: str | None
    reserved: frozenset[str]

    def identity(self, slo: SLO) -> dict[str, str]:
        """The labels that name the SLO on every rule: its id, service and name."""
        slo_id = f"{slo.service}-{slo.name}" if self.name == "sloth" else str(slo.id)
        return {self.id: slo_id, self.service: slo.service, self.slo: slo.name}

    def matchers(self, slo: SLO) -> str:
        """The selector's matchers of the SLO's recordings: its service and name."""
        return f'{{{self.service}="{slo.service}",{self.slo}="{slo.name}"}}'


NATIVE = LabelSet(
    name="native",
    id="slo_id",
    service="slo_service",
    slo="slo_name",
    window="slo_window",
    severity=None,
    reserved=frozenset(
        ("alertname", "severity", "slo_id", "slo_service", "slo_name", "slo_window")
    ),
)
# Sloth's names, on the rules or on sloth_slo_info.
_SLOTH_NAMES = "id service slo window severity objective version mode spec"
SLOTH = LabelSet(
    name="sloth",
    id="sloth_id",
    service="sloth_service",
    slo="sloth_slo",
    window="sloth_window",
    severity="sloth_severity",
    reserved=frozenset(("alertname", "severity", *(f"sloth_{n}" for n in _SLOTH_NAMES.split()))),
)
LABEL_SETS: dict[LabelsName, LabelSet] = {"native": NATIVE, "sloth": SLOTH}
