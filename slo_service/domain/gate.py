"""The deploy gate's decision from an error-budget policy. Pure.

Per SLO of a service: ``deny`` when its remaining budget is at or below its freeze threshold,
``warn`` at or below its warn threshold or while a page-tier alert fires, ``allow`` otherwise.
Stale data (no successful evaluation within the staleness limit) never counts as healthy: it
warns under ``fail_open`` and denies under ``fail_closed``. The service's decision is the worst
of its SLOs', ``deny`` under a manual freeze; an active override, or a change type the policy
exempts, lets a deploy through whatever the SLOs say.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from slo_service.domain.windows import format_duration, parse_duration


class Decision(StrEnum):
    ALLOW = "allow"
    WARN = "warn"
    DENY = "deny"


_SEVERITY = {Decision.ALLOW: 0, Decision.WARN: 1, Decision.DENY: 2}


def worst(decisions: Iterable[Decision]) -> Decision:
    return max(decisions, key=_SEVERITY.__getitem__, default=Decision.ALLOW)


class ChangeType(StrEnum):
    FEATURE = "feature"
    ROLLBACK = "rollback"
    SECURITY = "security"
    HOTFIX = "hotfix"


class StalePolicy(StrEnum):
    FAIL_OPEN = "fail_open"
    FAIL_CLOSED = "fail_closed"


class Cause(StrEnum):
    """Why an SLO gives the verdict it gives."""

    BUDGET_FROZEN = "budget_frozen"  # remaining at or below the freeze threshold
    BUDGET_LOW = "budget_low"  # remaining at or below the warn threshold
    PAGING = "paging"  # a page-tier burn-rate alert fires
    STALE = "stale"  # no successful evaluation within the staleness limit
    NO_DATA = "no_data"  # evaluated, but nothing measured in the window yet
    HEALTHY = "healthy"
    NOT_GATING = "not_gating"  # the policy says this SLO does not gate deploys


DEFAULT_EXEMPT = frozenset({ChangeType.ROLLBACK, ChangeType.SECURITY})
MAX_OVERRIDE = timedelta(days=7)


@dataclass(frozen=True)
class Policy:
    """How one SLO gates its service's deploys."""

    gating: bool = True
    freeze_threshold: float = 0.0
    warn_threshold: float = 0.25
    stale_policy: StalePolicy = StalePolicy.FAIL_OPEN
    staleness_limit: timedelta = timedelta(minutes=15)


POLICY_FIELDS = ("gating", "freeze_threshold", "warn_threshold", "stale_policy", "staleness_limit")


def effective_policy(*layers: Mapping[str, Any]) -> Policy:
    """The policy from settings given as text (as stored and as clients write them), later
    layers winning (the service's defaults, then the SLO's); a None value sets nothing."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged |= {k: v for k, v in layer.items() if k in POLICY_FIELDS and v is not None}
    defaults = Policy()
    return Policy(
        gating=bool(merged.get("gating", defaults.gating)),
        freeze_threshold=float(merged.get("freeze_threshold", defaults.freeze_threshold)),
        warn_threshold=float(merged.get("warn_threshold", defaults.warn_threshold)),
        stale_policy=StalePolicy(merged.get("stale_policy", defaults.stale_policy)),
        staleness_limit=parse_duration(merged["staleness_limit"])
        if "staleness_limit" in merged
        else defaults.staleness_limit,
    )


@dataclass(frozen=True)
class SloState:
    """One SLO as the gate sees it: its policy and its numbers at its last evaluation."""

    slo_id: int
    name: str
    policy: Policy
    remaining: float | None
    burn_rates: dict[str, float | None] = field(default_factory=dict)
    paging: bool = False
    evaluated_at: datetime | None = None  # the last successful evaluation
    evaluated_until: datetime | None = None  # the end of the last bucket it measured


@dataclass(frozen=True)
class Reason:
    slo: SloState
    verdict: Decision
    cause: Cause
    threshold: float | None
    stale: bool
    detail: str


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"


def age(length: timedelta) -> str:
    """``2d 3h``, ``3h 12m``, ``12m``, ``under 1m``: for people reading a CI log."""
    minutes = int(length.total_seconds() // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m" if mins else "under 1m"


def _stale_detail(slo: SloState, now: datetime) -> str:
    limit = format_duration(slo.policy.staleness_limit)
    if slo.evaluated_at is None:
        return f"never evaluated successfully (staleness limit {limit})"
    return (
        f"last evaluated successfully {age(now - slo.evaluated_at)} ago, over the {limit} "
        "staleness limit"
    )


def is_stale(slo: SloState, now: datetime) -> bool:
    return slo.evaluated_at is None or now - slo.evaluated_at > slo.policy.staleness_limit


def _budget_verdict(slo: SloState) -> tuple[Decision, Cause, float | None, str]:
    policy, remaining = slo.policy, slo.remaining
    if remaining is None:
        return Decision.ALLOW, Cause.NO_DATA, None, "no data in the window yet"
    left = f"{_percent(remaining)} of the error budget left"
    if remaining <= policy.freeze_threshold:
        threshold = policy.freeze_threshold
        return Decision.DENY, Cause.BUDGET_FROZEN, threshold, f"{left}, at or below the " \
            f"freeze threshold {_percent(threshold)}"  # fmt: skip
    if remaining <= policy.warn_threshold:
        threshold = policy.warn_threshold
        return Decision.WARN, Cause.BUDGET_LOW, threshold, f"{left}, at or below the " \
            f"warn threshold {_percent(threshold)}"  # fmt: skip
    if slo.paging:
        return Decision.WARN, Cause.PAGING, None, f"{left}, but a page-tier burn-rate alert fires"
    return Decision.ALLOW, Cause.HEALTHY, None, left


def judge(slo: SloState, now: datetime) -> Reason:
    """One SLO's verdict. Stale data weighs as its policy says, and never hides a worse
    budget verdict from the last evaluation."""
    if not slo.policy.gating:
        return Reason(slo, Decision.ALLOW, Cause.NOT_GATING, None, False, "does not gate deploys")
    verdict, cause, threshold, detail = _budget_verdict(slo)
    if not is_stale(slo, now):
        return Reason(slo, verdict, cause, threshold, False, detail)
    stale_verdict = (
        Decision.DENY if slo.policy.stale_policy is StalePolicy.FAIL_CLOSED else Decision.WARN
    )
    stale_detail = f"{_stale_detail(slo, now)} ({slo.policy.stale_policy})"
    if _SEVERITY[verdict] > _SEVERITY[stale_verdict]:
        return Reason(slo, verdict, cause, threshold, True, f"{detail}; {stale_detail}")
    return Reason(slo, stale_verdict, Cause.STALE, None, True, stale_detail)


@dataclass(frozen=True)
class Override:
    """Lets deploys of a service through until it expires: of one change type, or any."""

    id: int
    reason: str
    change_type: ChangeType | None
    ticket: str | None
    expires_at: datetime
    created_by: str
    created_at: datetime

    def active(self, now: datetime) -> bool:
        return self.expires_at > now

    def covers(self, change_type: ChangeType, now: datetime) -> bool:
        return self.active(now) and self.change_type in (None, change_type)


@dataclass(frozen=True)
class Freeze:
    """A freeze in force: by hand (``manual``) or because a gating SLO's budget ran out."""

    id: int
    cause: str  # "manual" or "budget"
    started_at: datetime
    started_by: str
    reason: str
    slo_name: str | None = None


@dataclass(frozen=True)
class ServiceState:
    """Everything the gate of one service decides from, kept up to date by evaluation and by
    every change of policy, freeze or override."""

    service: str
    slos: tuple[SloState, ...] = ()
    exempt: frozenset[ChangeType] = DEFAULT_EXEMPT
    freezes: tuple[Freeze, ...] = ()
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    service: str
    change_type: ChangeType
    frozen: bool  # the SLOs or a manual freeze deny deploys (before any bypass)
    bypass: str | None  # "override" or "exempt_change_type" when one lets the deploy through
    override: Override | None  # the override that does
    reasons: tuple[Reason, ...]
    overrides: tuple[Override, ...]  # every active override
    freezes: tuple[Freeze, ...]
    exempt: frozenset[ChangeType]
    evaluated_at: datetime | None  # the oldest successful evaluation the decision rests on


def decide(state: ServiceState, *, change_type: ChangeType, now: datetime) -> Verdict:
    reasons = tuple(judge(slo, now) for slo in state.slos)
    manual = any(freeze.cause == "manual" for freeze in state.freezes)
    held = worst([*(r.verdict for r in reasons), *([Decision.DENY] if manual else [])])
    active = tuple(o for o in state.overrides if o.active(now))
    covering = next((o for o in active if o.covers(change_type, now)), None)
    bypass = None
    if held is not Decision.ALLOW:
        if covering is not None:
            bypass = "override"
        elif change_type in state.exempt:
            bypass = "exempt_change_type"
    times = [slo.evaluated_at for slo in state.slos if slo.evaluated_at is not None]
    return Verdict(
        decision=Decision.ALLOW if bypass else held,
        service=state.service,
        change_type=change_type,
        frozen=held is Decision.DENY,
        bypass=bypass,
        override=covering if bypass == "override" else None,
        reasons=reasons,
        overrides=active,
        freezes=state.freezes,
        exempt=state.exempt,
        evaluated_at=min(times) if len(times) == len(state.slos) and times else None,
    )


def steady_until(state: ServiceState, now: datetime) -> datetime:
    """Until when ``decide`` gives the same answer for ``state`` as at ``now`` (but for the
    time it was decided): the first instant an SLO turns stale, a stale SLO's age in whole
    minutes moves on, or an override expires."""
    moments = [o.expires_at for o in state.overrides if o.active(now)]
    for slo in state.slos:
        if not slo.policy.gating or slo.evaluated_at is None:
            continue
        if not is_stale(slo, now):
            moments.append(slo.evaluated_at + slo.policy.staleness_limit)
        else:
            minutes = (now - slo.evaluated_at) // timedelta(minutes=1)
            moments.append(slo.evaluated_at + timedelta(minutes=minutes + 1))
    return min(moments, default=datetime.max.replace(tzinfo=now.tzinfo))


def freezing_slo(slos: Iterable[SloState]) -> SloState | None:
    """The gating SLO whose budget freezes the service (the one furthest below its freeze
    threshold), if any: what evaluation records as a budget freeze."""
    spent = [
        s
        for s in slos
        if s.policy.gating and s.remaining is not None and s.remaining <= s.policy.freeze_threshold
    ]
    return min(spent, key=lambda s: (s.remaining or 0.0) - s.policy.freeze_threshold, default=None)


def override_expiry_problem(expires_at: datetime, now: datetime) -> str | None:
    """Why ``expires_at`` is not acceptable for a new override, or None."""
    if expires_at <= now:
        return f"{expires_at.isoformat()} is in the past; give a time in the next 7 days"
    if expires_at - now > MAX_OVERRIDE:
        return (
            f"{expires_at.isoformat()} is more than 7 days out; overrides last 7 days at most "
            f"(until {(now + MAX_OVERRIDE).isoformat(timespec='seconds')}): create another later"
        )
    return None
