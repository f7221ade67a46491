"""An SLI in PromQL: its error ratio over a window and the series that counts its events.

Error ratios, per SLI type (``W`` the window), and ``TOTAL`` (the events):

- ratio with bad: ``sum(rate(BAD[W])) / sum(rate(TOTAL[W]))``; with good:
  ``1 - (sum(rate(GOOD[W])) / sum(rate(TOTAL[W])))``
- latency: ``1 - (sum(rate(H_bucket{M,le="T"}[W])) / sum(rate(H_count{M}[W])))``, where ``T`` is
  the threshold's shortest text (0.5 -> ``0.5``), and ``TOTAL`` is ``H_count{M}``. A whole
  number of seconds is spelt ``1`` by Go clients and ``1.0`` by Python's (and by Prometheus 3,
  which normalizes ``le``), so it is matched as ``le=~"1|1.0"``.
- threshold (timeslices): the fraction of one-minute slices of the window whose value missed the
  condition, ``1 - avg_over_time(((QUERY) OP bool THRESHOLD)[W:1m])``; a minute without data
  is left out (``no_data: ignore``), whatever the SLO's ``no_data`` says.

A one-minute window (the short window of a 7d SLO's fastest tier) needs at least two scrapes a
minute for ``rate`` to have a value: scrape every 15s or so.
"""

from datetime import timedelta

from slo_service.domain.promql import Selector, parse_selector
from slo_service.domain.sli import (
    DriftStoreSli,
    LatencySli,
    PredictionLogSli,
    PushSli,
    RatioSli,
    SliSpec,
    ThresholdSli,
)

SLICE = "1m"
SKIP_REASONS = {
    DriftStoreSli: "measured from the drift store, not from Prometheus",
    PushSli: "pushed to POST /api/v1/events, not in Prometheus",
    PredictionLogSli: "measured from the prediction log's labels, not from Prometheus",
}


def number(value: float) -> str:
    """A float as PromQL text: 12 significant digits, so 0.02 x 720 reads ``14.4``."""
    return f"{value:.12g}"


def duration(length: timedelta) -> str:
    """The largest of d, h, m that states ``length`` exactly: ``30d``, ``7d`` (not ``1w``)."""
    minutes = int(length.total_seconds()) // 60
    for unit, size in (("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def _rate(selector: str, window: str) -> str:
    return f"sum(rate({selector}[{window}]))"


def increase(selector: str, window: str) -> str:
    """The events of ``selector`` over ``window`` (the recordings' ``min_events`` counts)."""
    return f"sum(increase({selector}[{window}]))"


def _le_matcher(threshold: float) -> str:
    text = repr(threshold)
    if threshold.is_integer():
        return f'le=~"{int(threshold)}|{text}"'
    return f'le="{text}"'


def _histogram_count(sli: LatencySli) -> str:
    histogram = parse_selector(sli.histogram)
    return Selector(f"{histogram.name}_count", histogram.matchers).render()


def error_ratio(sli: SliSpec, window: str) -> str:
    """The PromQL of the SLI's error ratio over ``window``; ValueError for SLIs without one."""
    if isinstance(sli, RatioSli):
        if sli.bad is not None:
            return f"{_rate(sli.bad, window)} / {_rate(sli.total, window)}"
        assert sli.good is not None
        return f"1 - ({_rate(sli.good, window)} / {_rate(sli.total, window)})"
    if isinstance(sli, LatencySli):
        histogram = parse_selector(sli.histogram)
        buckets = Selector(f"{histogram.name}_bucket", histogram.matchers)
        good = _rate(buckets.render(_le_matcher(sli.threshold_seconds)), window)
        return f"1 - ({good} / {_rate(_histogram_count(sli), window)})"
    if isinstance(sli, ThresholdSli):
        return f"1 - avg_over_time(({_slice_condition(sli)})[{window}:{SLICE}])"
    raise ValueError(SKIP_REASONS[type(sli)])


def _slice_condition(sli: ThresholdSli) -> str:
    return f"({sli.query}) {sli.op} bool {number(sli.threshold)}"


def events_selector(sli: SliSpec) -> str | None:
    """The series counting an occurrence SLI's events; None for timeslices (and SLIs not in
    Prometheus)."""
    if isinstance(sli, RatioSli):
        return sli.total
    if isinstance(sli, LatencySli):
        return _histogram_count(sli)
    return None


def skip_reason(sli: SliSpec) -> str | None:
    """Why an SLI has no Prometheus rules; None when it has them."""
    return SKIP_REASONS.get(type(sli))
