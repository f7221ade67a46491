from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from slo_service.domain.gate import (
    Cause,
    ChangeType,
    Decision,
    Freeze,
    Override,
    Policy,
    ServiceState,
    SloState,
    StalePolicy,
    age,
    decide,
    effective_policy,
    freezing_slo,
    judge,
    override_expiry_problem,
    steady_until,
    worst,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FRESH = NOW - timedelta(minutes=2)
OLD = NOW - timedelta(minutes=40)
CLOSED = Policy(stale_policy=StalePolicy.FAIL_CLOSED)


def slo(
    remaining: float | None = 0.8,
    *,
    policy: Policy = Policy(),
    paging: bool = False,
    evaluated_at: datetime | None = FRESH,
    name: str = "availability",
    slo_id: int = 1,
) -> SloState:
    return SloState(slo_id, name, policy, remaining, {"1h": 2.0}, paging, evaluated_at, None)


@pytest.mark.parametrize(
    ("state", "verdict", "cause", "threshold", "stale"),
    [
        (slo(0.8), Decision.ALLOW, Cause.HEALTHY, None, False),
        (slo(0.25), Decision.WARN, Cause.BUDGET_LOW, 0.25, False),
        (slo(0.1), Decision.WARN, Cause.BUDGET_LOW, 0.25, False),
        (slo(0.0), Decision.DENY, Cause.BUDGET_FROZEN, 0.0, False),
        (slo(-0.4), Decision.DENY, Cause.BUDGET_FROZEN, 0.0, False),
        (slo(0.3, policy=Policy(freeze_threshold=0.3, warn_threshold=0.5)),
         Decision.DENY, Cause.BUDGET_FROZEN, 0.3, False),
        (slo(0.8, paging=True), Decision.WARN, Cause.PAGING, None, False),
        (slo(None), Decision.ALLOW, Cause.NO_DATA, None, False),
        (slo(-1.0, policy=Policy(gating=False)), Decision.ALLOW, Cause.NOT_GATING, None, False),
        (slo(0.8, evaluated_at=OLD), Decision.WARN, Cause.STALE, None, True),
        (slo(0.8, evaluated_at=None), Decision.WARN, Cause.STALE, None, True),
        (slo(0.8, evaluated_at=OLD, policy=CLOSED), Decision.DENY, Cause.STALE, None, True),
        (slo(0.1, evaluated_at=OLD), Decision.WARN, Cause.STALE, None, True),
        (slo(-0.5, evaluated_at=OLD), Decision.DENY, Cause.BUDGET_FROZEN, 0.0, True),
        (slo(0.8, evaluated_at=OLD, policy=Policy(staleness_limit=timedelta(hours=1))),
         Decision.ALLOW, Cause.HEALTHY, None, False),
        (slo(0.8, evaluated_at=NOW - timedelta(minutes=15)), Decision.ALLOW, Cause.HEALTHY,
         None, False),
    ],
    ids=[
        "healthy",
        "at-warn",
        "below-warn",
        "at-freeze",
        "overspent",
        "own-freeze-threshold",
        "paging",
        "no-data",
        "not-gating",
        "stale-fail-open",
        "never-evaluated",
        "stale-fail-closed",
        "stale-and-low-warns-once",
        "stale-never-hides-spent",
        "longer-staleness-limit",
        "at-staleness-limit",
    ],
)  # fmt: skip
def test_judge_one_slo(
    state: SloState, verdict: Decision, cause: Cause, threshold: float | None, stale: bool
) -> None:
    reason = judge(state, NOW)
    assert (reason.verdict, reason.cause, reason.threshold, reason.stale) == (
        verdict,
        cause,
        threshold,
        stale,
    )


def test_details_carry_the_numbers() -> None:
    assert judge(slo(-0.123), NOW).detail == (
        "-12.3% of the error budget left, at or below the freeze threshold 0.0%"
    )
    stale = judge(slo(0.8, evaluated_at=OLD, policy=CLOSED), NOW).detail
    assert stale == (
        "last evaluated successfully 40m ago, over the 15m staleness limit (fail_closed)"
    )
    assert "never evaluated" in judge(slo(evaluated_at=None), NOW).detail


def override(
    *, change_type: ChangeType | None = None, expires_at: datetime = NOW + timedelta(hours=1)
) -> Override:
    return Override(7, "fix", change_type, "INC-1", expires_at, "alice", NOW - timedelta(hours=1))


SPENT = slo(-0.2)
LOW = slo(0.1, name="latency", slo_id=2)
MANUAL = Freeze(3, "manual", NOW - timedelta(hours=2), "admin", "release freeze")


@pytest.mark.parametrize(
    ("state", "change_type", "decision", "frozen", "bypass"),
    [
        (ServiceState("m", (slo(),)), ChangeType.FEATURE, Decision.ALLOW, False, None),
        (ServiceState("m", (slo(), LOW)), ChangeType.FEATURE, Decision.WARN, False, None),
        (ServiceState("m", (SPENT, LOW)), ChangeType.FEATURE, Decision.DENY, True, None),
        (ServiceState("m", (SPENT,)), ChangeType.ROLLBACK, Decision.ALLOW, True,
         "exempt_change_type"),
        (ServiceState("m", (SPENT,)), ChangeType.SECURITY, Decision.ALLOW, True,
         "exempt_change_type"),
        (ServiceState("m", (SPENT,)), ChangeType.HOTFIX, Decision.DENY, True, None),
        (ServiceState("m", (SPENT,), exempt=frozenset()), ChangeType.ROLLBACK, Decision.DENY,
         True, None),
        (ServiceState("m", (SPENT,), exempt=frozenset({ChangeType.HOTFIX})), ChangeType.HOTFIX,
         Decision.ALLOW, True, "exempt_change_type"),
        (ServiceState("m", (SPENT,), overrides=(override(),)), ChangeType.FEATURE,
         Decision.ALLOW, True, "override"),
        (ServiceState("m", (SPENT,), overrides=(override(expires_at=NOW),)),
         ChangeType.FEATURE, Decision.DENY, True, None),
        (ServiceState("m", (SPENT,), overrides=(override(change_type=ChangeType.HOTFIX),)),
         ChangeType.FEATURE, Decision.DENY, True, None),
        (ServiceState("m", (SPENT,), overrides=(override(change_type=ChangeType.HOTFIX),)),
         ChangeType.HOTFIX, Decision.ALLOW, True, "override"),
        (ServiceState("m", (LOW,), overrides=(override(),)), ChangeType.FEATURE,
         Decision.ALLOW, False, "override"),
        (ServiceState("m", (slo(),), freezes=(MANUAL,)), ChangeType.FEATURE, Decision.DENY,
         True, None),
        (ServiceState("m", (slo(),), freezes=(MANUAL,), overrides=(override(),)),
         ChangeType.FEATURE, Decision.ALLOW, True, "override"),
        (ServiceState("m", ()), ChangeType.FEATURE, Decision.ALLOW, False, None),
    ],
    ids=[
        "allow",
        "warn",
        "deny",
        "rollback-exempt",
        "security-exempt",
        "hotfix-not-exempt",
        "policy-exempts-nothing",
        "policy-exempts-hotfix",
        "override",
        "override-expired",
        "override-other-type",
        "override-of-this-type",
        "override-lifts-warn",
        "manual-freeze",
        "override-passes-manual-freeze",
        "no-slos",
    ],
)  # fmt: skip
def test_decide(
    state: ServiceState,
    change_type: ChangeType,
    decision: Decision,
    frozen: bool,
    bypass: str | None,
) -> None:
    verdict = decide(state, change_type=change_type, now=NOW)
    assert (verdict.decision, verdict.frozen, verdict.bypass) == (decision, frozen, bypass)
    assert len(verdict.reasons) == len(state.slos)
    assert (verdict.override is not None) == (bypass == "override")


def test_decide_lists_only_active_overrides_and_the_oldest_evaluation() -> None:
    expired = replace(override(expires_at=NOW - timedelta(seconds=1)), id=8)
    state = ServiceState(
        "m", (slo(), replace(LOW, evaluated_at=OLD)), overrides=(override(), expired)
    )
    verdict = decide(state, change_type=ChangeType.FEATURE, now=NOW)
    assert [o.id for o in verdict.overrides] == [7]
    assert verdict.evaluated_at == OLD
    never = ServiceState("m", (slo(), slo(evaluated_at=None)))
    assert decide(never, change_type=ChangeType.FEATURE, now=NOW).evaluated_at is None


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ([], Policy()),
        ([{"warn_threshold": 0.4}], Policy(warn_threshold=0.4)),
        ([{"warn_threshold": 0.4}, {"warn_threshold": 0.3}], Policy(warn_threshold=0.3)),
        ([{"warn_threshold": 0.4}, {"warn_threshold": None}], Policy(warn_threshold=0.4)),
        ([{"stale_policy": "fail_closed", "staleness_limit": "1h"}, {"gating": False}],
         Policy(False, 0.0, 0.25, StalePolicy.FAIL_CLOSED, timedelta(hours=1))),
    ],
    ids=["defaults", "service", "slo-over-service", "null-inherits", "mixed"],
)  # fmt: skip
def test_effective_policy(layers: list[dict[str, object]], expected: Policy) -> None:
    assert effective_policy(*layers) == expected


def test_the_freezing_slo_is_the_furthest_below_its_threshold() -> None:
    worse = slo(-0.6, name="latency", slo_id=2)
    ignored = slo(-0.9, name="drift", slo_id=3, policy=Policy(gating=False))
    assert freezing_slo([SPENT, worse, ignored, LOW]) == worse
    assert freezing_slo([LOW, slo(None)]) is None


@pytest.mark.parametrize(
    ("expires_at", "problem"),
    [
        (NOW + timedelta(hours=1), None),
        (NOW + timedelta(days=7), None),
        (NOW + timedelta(days=7, seconds=1), "more than 7 days out"),
        (NOW, "in the past"),
    ],
    ids=["hour", "seven-days", "over-seven-days", "now"],
)
def test_override_expiry(expires_at: datetime, problem: str | None) -> None:
    found = override_expiry_problem(expires_at, NOW)
    assert (found is None) if problem is None else (problem in str(found))


@pytest.mark.parametrize(
    ("length", "text"),
    [
        (timedelta(seconds=30), "under 1m"),
        (timedelta(minutes=12), "12m"),
        (timedelta(hours=3, minutes=12), "3h 12m"),
        (timedelta(hours=5), "5h"),
        (timedelta(days=2, hours=3, minutes=5), "2d 3h"),
    ],
    ids=["seconds", "minutes", "hours-minutes", "hours", "days"],
)
def test_age(length: timedelta, text: str) -> None:
    assert age(length) == text


@pytest.mark.parametrize(
    ("state", "until"),
    [
        (ServiceState("m", (slo(evaluated_at=NOW - timedelta(minutes=5)),)),
         NOW + timedelta(minutes=10)),
        (ServiceState("m", (slo(evaluated_at=OLD),)), OLD + timedelta(minutes=41)),
        (ServiceState("m", (slo(evaluated_at=None),)), datetime.max.replace(tzinfo=UTC)),
        (ServiceState("m", (slo(policy=Policy(gating=False), evaluated_at=OLD),)),
         datetime.max.replace(tzinfo=UTC)),
        (ServiceState("m", (slo(evaluated_at=FRESH),),
                      overrides=(override(expires_at=NOW + timedelta(minutes=3)),
                                 override(expires_at=NOW - timedelta(minutes=1)))),
         NOW + timedelta(minutes=3)),
    ],
    ids=["turns-stale", "stale-age-ticks", "never-evaluated", "not-gating", "override-expires"],
)  # fmt: skip
def test_steady_until(state: ServiceState, until: datetime) -> None:
    assert steady_until(state, NOW) == until


def test_worst() -> None:
    assert worst([]) is Decision.ALLOW
    assert worst([Decision.WARN, Decision.ALLOW]) is Decision.WARN
    assert worst([Decision.WARN, Decision.DENY, Decision.ALLOW]) is Decision.DENY
