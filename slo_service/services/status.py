"""An SLO's status: SLI, budget, burn rates, firing tiers, from running totals (no scan)."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from slo_service.domain import alert_settings
from slo_service.domain import budget as math
from slo_service.domain.alert_settings import AlertSettings
from slo_service.domain.blocks import Layout, epoch
from slo_service.domain.budget import Counts
from slo_service.domain.burn import BURN_WINDOWS, Tier
from slo_service.domain.gate import Policy
from slo_service.domain.kinds import Budgeting
from slo_service.domain.windows import (
    Span,
    align,
    format_duration,
    parse_timezone,
    parse_window,
    period,
)
from slo_service.models import SLO, ServicePolicy
from slo_service.repositories import policy as policy_repo
from slo_service.schemas.status import (
    AlertingStatusPublic,
    BudgetPublic,
    FiringTierPublic,
    LabelCoveragePublic,
    SLOStatusPublic,
    TierPublic,
    WindowPublic,
)
from slo_service.services import buckets
from slo_service.services.gate import state as gate
from slo_service.services.performance import coverage

# The time to exhaustion is given at the burn rate of this window: recent, but not a blip.
EXHAUSTION_PACE = "1h"


@dataclass(frozen=True)
class Reading:
    """Running totals at one instant, and at that instant minus each length asked for."""

    now: Counts
    before: dict[timedelta, Counts]

    def over(self, length: timedelta, *, ago: timedelta = timedelta(0)) -> Counts:
        """The counts over ``length`` ending at that instant, or ``ago`` before it."""
        end = self.before[ago] if ago else self.now
        return end - self.before[ago + length]


def _stamps(at: datetime, lengths: Iterable[timedelta]) -> tuple[list[timedelta], list[int]]:
    ordered = sorted(set(lengths))
    stamp = epoch(at)
    return ordered, [stamp, *(stamp - int(length.total_seconds()) for length in ordered)]


def _reading(ordered: list[timedelta], totals: Sequence[Counts]) -> Reading:
    return Reading(totals[0], dict(zip(ordered, totals[1:], strict=True)))


def read(
    session: Session, slo_id: int, at: datetime, lengths: Iterable[timedelta], *, layout: Layout
) -> Reading:
    ordered, stamps = _stamps(at, lengths)
    return _reading(ordered, buckets.totals_at(session, slo_id, stamps, layout=layout))


def read_many(
    session: Session,
    asked: Mapping[int, tuple[datetime, Iterable[timedelta]]],
    *,
    layout: Layout,
) -> dict[int, Reading]:
    """``read`` for many SLOs (id → instant and lengths), the blocks in one batch."""
    planned = {slo_id: _stamps(at, lengths) for slo_id, (at, lengths) in asked.items()}
    totals = buckets.totals_at_many(
        session, {slo_id: stamps for slo_id, (_, stamps) in planned.items()}, layout=layout
    )
    return {slo_id: _reading(ordered, totals[slo_id]) for slo_id, (ordered, _) in planned.items()}


def alerting_of(slo: SLO, service: Mapping[str, Any] | None, *, layout: Layout) -> AlertSettings:
    """The SLO's effective alerting settings; ``service`` is its service policy's ``alerting``."""
    return alert_settings.effective(
        slo.alerting,
        service,
        window=slo.window,
        bucket=timedelta(seconds=layout.bucket_seconds),
        sli=slo.sli,
    )


def as_of(slo: SLO, *, now: datetime, layout: Layout) -> datetime | None:
    """The instant the status describes: the end of the last evaluated bucket. Pushed SLIs are
    written as events arrive, so theirs is the start of the current bucket."""
    if slo.sli.get("source") == "push":
        return align(now, timedelta(seconds=layout.bucket_seconds))
    return slo.evaluated_until


def tier_states(
    settings: AlertSettings,
    reading: Reading,
    objective: float,
    *,
    timeslices: bool,
    bucket: timedelta,
) -> list[TierPublic]:
    """Each effective tier with its burn rates; firing (when alerting is enabled) once it has
    been over its factor for its hold, unless held back by ``min_events`` (occurrence SLOs
    only: timeslices count minutes, not requests)."""
    found = []
    for tier in settings.tiers:
        long_burn = math.burn_rate(reading.over(tier.long_window), objective)
        short_burn = math.burn_rate(reading.over(tier.short_window), objective)
        events = reading.over(tier.short_window).total
        over = tier.fires(long_burn, short_burn) and all(
            tier.fires(
                math.burn_rate(reading.over(tier.long_window, ago=ago), objective),
                math.burn_rate(reading.over(tier.short_window, ago=ago), objective),
            )
            for ago in tier.hold_offsets(bucket)
        )
        held_back = over and not timeslices and events < settings.min_events
        found.append(
            TierPublic(
                severity=tier.severity,
                long_window=format_duration(tier.long_window),
                short_window=format_duration(tier.short_window),
                factor=tier.factor,
                hold=format_duration(tier.hold) if tier.hold else None,
                long_burn_rate=long_burn,
                short_burn_rate=short_burn,
                short_window_events=events,
                firing=settings.enabled and over and not held_back,
                held_back=held_back,
            )
        )
    return found


def firing_tiers(tiers: Iterable[TierPublic]) -> list[FiringTierPublic]:
    return [
        FiringTierPublic(
            severity=t.severity, long_window=t.long_window, short_window=t.short_window,
            factor=t.factor, long_burn_rate=t.long_burn_rate or 0.0,
            short_burn_rate=t.short_burn_rate or 0.0,
        )
        for t in tiers
        if t.firing
    ]  # fmt: skip


@dataclass(frozen=True)
class _Frame:
    """What a status measures: its end, the instant it reads at, the period, the alerting."""

    end: datetime | None
    at: datetime
    span: Span
    alerting: AlertSettings
    bucket: timedelta

    @property
    def tiers(self) -> tuple[Tier, ...]:
        return self.alerting.tiers

    @property
    def lengths(self) -> list[timedelta]:
        tier_windows = [
            ago + window
            for t in self.tiers
            for ago in [timedelta(0), *t.hold_offsets(self.bucket)]
            for window in (timedelta(0), t.long_window, t.short_window)
        ]
        return [self.at - self.span.start, *BURN_WINDOWS.values(), *tier_windows]


def _frame(slo: SLO, service: Mapping[str, Any] | None, *, now: datetime, layout: Layout) -> _Frame:
    end = as_of(slo, now=now, layout=layout)
    at = end or align(now, timedelta(seconds=layout.bucket_seconds))
    span = period(parse_window(slo.window), at, parse_timezone(slo.timezone))
    bucket = timedelta(seconds=layout.bucket_seconds)
    return _Frame(end, at, span, alerting_of(slo, service, layout=layout), bucket)


def status(
    session: Session,
    slo: SLO,
    *,
    now: datetime,
    layout: Layout,
    policy: Policy | None = None,
) -> SLOStatusPublic:
    """The SLO as of its last evaluated bucket (``no_data`` before the first evaluation);
    ``policy`` is its effective gate policy (looked up when not given)."""
    assert slo.id is not None
    frame = _frame(slo, policy_repo.alerting_defaults(session, slo.service), now=now, layout=layout)
    reading = read(session, slo.id, frame.at, frame.lengths, layout=layout)
    labels = coverage.of_slos(session, [slo]).get(slo.id)
    return _status(slo, frame, reading, policy or gate.effective_for(session, slo), labels)


def statuses(
    session: Session,
    slos: Sequence[SLO],
    *,
    now: datetime,
    layout: Layout,
    policies: Mapping[int, Policy],
    services: Mapping[str, ServicePolicy] | None = None,
) -> dict[int, SLOStatusPublic]:
    """``status`` of many SLOs, their running totals read in one batch; ``services`` are their
    services' policies (read when not given)."""
    if services is None:
        services = policy_repo.policies(session, {slo.service for slo in slos})
    frames = {
        slo.id: _frame(slo, _alerting(services.get(slo.service)), now=now, layout=layout)
        for slo in slos
        if slo.id is not None
    }
    readings = read_many(session, {i: (f.at, f.lengths) for i, f in frames.items()}, layout=layout)
    labels = coverage.of_slos(session, slos)
    return {
        slo.id: _status(slo, frames[slo.id], readings[slo.id], policies[slo.id], labels.get(slo.id))
        for slo in slos
        if slo.id is not None
    }


def _alerting(service: ServicePolicy | None) -> Mapping[str, Any] | None:
    return service.alerting if service is not None else None


def _status(
    slo: SLO,
    frame: _Frame,
    reading: Reading,
    policy: Policy,
    labels: LabelCoveragePublic | None = None,
) -> SLOStatusPublic:
    assert slo.id is not None
    end, at, span, settings = frame.end, frame.at, frame.span, frame.alerting
    measured = at - span.start
    counts = reading.over(measured) if end else Counts()
    timeslices = slo.budgeting == Budgeting.TIMESLICES
    budget = math.budget(counts, slo.objective, length=span.length, timeslices=timeslices)
    burns = {
        name: math.burn_rate(reading.over(d), slo.objective) for name, d in BURN_WINDOWS.items()
    }
    tiers = tier_states(
        settings, reading, slo.objective, timeslices=timeslices, bucket=frame.bucket
    )
    alerts = firing_tiers(tiers) if end else []
    return SLOStatusPublic(
        id=slo.id,
        service=slo.service,
        name=slo.name,
        objective=slo.objective,
        window=WindowPublic(spec=slo.window, start=span.start, end=at),
        sli=math.sli(counts),
        good=counts.good,
        total=counts.total,
        error_budget=BudgetPublic(
            total=budget.total,
            consumed=budget.consumed,
            remaining=budget.remaining,
            remaining_minutes=budget.remaining_minutes,
        ),
        burn_rates={**burns, "window": budget.consumed},
        time_to_exhaustion_seconds=math.time_to_exhaustion(
            budget.remaining, burns[EXHAUSTION_PACE], length=span.length
        ),
        state=math.state(
            budget.remaining,
            warn_threshold=policy.warn_threshold,
            paging=any(alert.severity == "page" for alert in alerts),
        ),
        alerts=alerts,
        alerting=AlertingStatusPublic(
            enabled=settings.enabled,
            min_events=settings.min_events,
            no_data_for=format_duration(settings.no_data_for) if settings.no_data_for else None,
            tiers=tiers,
        ),
        data_until=slo.data_until,
        evaluated_until=end,
        last_error=slo.last_error,
        labels=labels,
    )
