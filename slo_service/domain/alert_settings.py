"""An SLO's effective alerting settings: its own (``alerting`` on the SLO), over its service's
policy (``alerting`` of ``PUT /services/{service}/policy``), over the built-in defaults.

- ``enabled`` (default true): whether the SLO alerts at all.
- ``tiers``: the burn-rate tiers (``domain.burn``): the user's, each with its own windows, or
  the workbook's scaled to the SLO's window.
- ``min_events`` (default 10): a tier does not fire while its short window holds fewer events
  than this, so a handful of failed requests on a quiet model pages nobody. Timeslice SLOs
  count minutes, not requests: the guard does not apply to them.
- ``no_data_for`` (``never`` turns it off): an SLO whose source has given no data for this
  long raises its no-data ticket. Default 30m, but 1d for drift-store SLIs: their data comes in
  batches, hours apart.

Everything here reads stored, already validated settings: it never fails on them.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slo_service.domain.burn import Tier, default_tiers, factor_of_share, nominal_length
from slo_service.domain.windows import parse_duration, parse_window

DEFAULT_MIN_EVENTS = 10.0
DEFAULT_NO_DATA_FOR = timedelta(minutes=30)
# Sources whose data comes in batches hours apart, with the silence that is normal for them.
SPARSE_NO_DATA_FOR = {"drift_store": timedelta(days=1)}
NEVER = "never"


@dataclass(frozen=True)
class AlertSettings:
    enabled: bool
    tiers: tuple[Tier, ...]
    custom_tiers: bool  # the user's tiers, rather than the scaled defaults
    min_events: float
    no_data_for: timedelta | None  # None: no no-data alert


def tier_of(spec: Mapping[str, Any], period: timedelta) -> Tier:
    """A user's tier as stored: its factor, or the share of the budget (``budget_spent``) it
    spends in its long window over the SLO's ``period``."""
    long_window = parse_duration(spec["long_window"])
    factor = spec.get("factor")
    if factor is None:
        factor = factor_of_share(float(spec["budget_spent"]), long_window, period)
    hold = parse_duration(spec["hold"]) if spec.get("hold") else timedelta(0)
    return Tier(spec["severity"], long_window, parse_duration(spec["short_window"]), factor, hold)


def normal_silence(sli: Mapping[str, Any]) -> timedelta:
    """How long an SLI's source may be silent before that is news: a performance SLI is
    judged a label delay (and a period) behind, and its labels may come in daily batches."""
    source = str(sli.get("source", ""))
    if source == "prediction_log":
        delay = str(sli.get("expected_label_delay", "0m"))
        lag = timedelta(0) if delay == "0m" else parse_duration(delay)
        if not sli.get("window_size"):
            lag += parse_duration(str(sli.get("bucket", "1h")))
        return lag + timedelta(days=1)
    return SPARSE_NO_DATA_FOR.get(source, DEFAULT_NO_DATA_FOR)


def _no_data_for(text: str | None, sli: Mapping[str, Any]) -> timedelta | None:
    if text is None:
        return normal_silence(sli)
    return None if text == NEVER else parse_duration(text)


def effective(
    own: Mapping[str, Any] | None,
    service: Mapping[str, Any] | None,
    *,
    window: str,
    bucket: timedelta,
    sli: Mapping[str, Any] | None = None,
) -> AlertSettings:
    """The settings an SLO alerts by: ``own`` is its ``alerting``, ``service`` its service's
    policy defaults (``min_events``, ``no_data_for``); a key absent or null inherits. ``sli``
    is the SLO's (its source's normal silence differs)."""
    own, service = own or {}, service or {}
    period = nominal_length(parse_window(window))
    configured = own.get("tiers")
    tiers = (
        tuple(tier_of(spec, period) for spec in configured)
        if configured
        else default_tiers(period, bucket=bucket)
    )
    min_events = own.get("min_events")
    if min_events is None:
        min_events = service.get("min_events")
    no_data_for = own.get("no_data_for")
    if no_data_for is None:
        no_data_for = service.get("no_data_for")
    return AlertSettings(
        enabled=bool(own.get("enabled", True)),
        tiers=tiers,
        custom_tiers=bool(configured),
        min_events=DEFAULT_MIN_EVENTS if min_events is None else float(min_events),
        no_data_for=_no_data_for(no_data_for, sli or {}),
    )
