"""Alert transitions, routing and delivery backoff, by table."""

from datetime import UTC, datetime, timedelta

import pytest

from slo_service.domain.alerts import (
    Backoff,
    Firing,
    Route,
    Transition,
    dedup_key,
    repeat_due,
    route,
    transitions,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
PAGE_1H = dedup_key(7, "page", "1h", "5m")
PAGE_6H = dedup_key(7, "page", "6h", "30m")


def test_dedup_key_is_stable_per_slo_and_tier() -> None:
    assert PAGE_1H == "slo-7-page-1h-5m"
    assert dedup_key(7, "page", "1h", "5m") == PAGE_1H
    assert dedup_key(8, "page", "1h", "5m") != PAGE_1H


@pytest.mark.parametrize(
    ("firing_now", "stored", "expected"),
    [
        ([], [], []),
        ([PAGE_1H], [], [(PAGE_1H, "trigger")]),
        ([PAGE_1H], [PAGE_1H], []),
        ([], [PAGE_1H], [(PAGE_1H, "resolve")]),
        ([PAGE_6H], [PAGE_1H], [(PAGE_1H, "resolve"), (PAGE_6H, "trigger")]),
        ([PAGE_1H, PAGE_6H], [PAGE_6H], [(PAGE_1H, "trigger")]),
    ],
    ids=["quiet", "starts", "keeps-firing", "stops", "moves-tier", "second-tier"],
)
def test_transitions(
    firing_now: list[str], stored: list[str], expected: list[tuple[str, Transition]]
) -> None:
    assert transitions(firing_now, [Firing(key, T0) for key in stored]) == expected


@pytest.mark.parametrize(
    ("notified", "every", "now", "due"),
    [
        ({}, timedelta(hours=4), T0 + timedelta(hours=3, minutes=59), False),
        ({}, timedelta(hours=4), T0 + timedelta(hours=4), True),
        ({1: T0 + timedelta(hours=4)}, timedelta(hours=4), T0 + timedelta(hours=5), False),
        ({1: T0 + timedelta(hours=4)}, timedelta(hours=4), T0 + timedelta(hours=8), True),
        ({2: T0 + timedelta(hours=7)}, timedelta(hours=4), T0 + timedelta(hours=5), True),
        ({}, None, T0 + timedelta(days=30), False),
    ],
    ids=["not-yet", "from-start", "after-repeat", "again", "other-route", "no-repeats"],
)
def test_repeat_due(
    notified: dict[int, datetime], every: timedelta | None, now: datetime, due: bool
) -> None:
    assert repeat_due(Firing(PAGE_1H, T0, notified), 1, every, now=now) is due


ROUTES = [
    Route(1, services=["churn"], severities=["page"]),
    Route(2, labels={"team": "growth"}, continue_matching=True),
    Route(3, labels={"team": "growth"}, severities=["ticket"]),
    Route(4, severities=["page"]),
    Route(9, default=True),
]


@pytest.mark.parametrize(
    ("service", "labels", "severity", "expected"),
    [
        ("churn", {}, "page", [1]),
        ("churn", {"team": "growth"}, "page", [1]),  # the first match stops
        ("fraud", {"team": "growth"}, "ticket", [2, 3]),  # continue, then stop
        ("fraud", {"team": "growth"}, "page", [2, 4]),
        ("fraud", {}, "page", [4]),
        ("fraud", {}, "ticket", [9]),  # nothing matched: the default
        ("fraud", {"team": "other"}, "ticket", [9]),
    ],
    ids=["service", "first-wins", "continue", "continue-then-other", "severity", "default",
         "label-mismatch"],
)  # fmt: skip
def test_routing(service: str, labels: dict[str, str], severity: str, expected: list[int]) -> None:
    assert route(ROUTES, service=service, labels=labels, severity=severity) == expected


def test_no_route_and_no_default_takes_nothing() -> None:
    assert route(ROUTES[:1], service="fraud", labels={}, severity="page") == []


@pytest.mark.parametrize(
    ("attempts", "jitter", "retry_after", "seconds"),
    [
        (1, 0.0, None, 5),
        (1, 0.999999, None, 10),
        (3, 0.0, None, 20),
        (4, 0.5, None, 60),
        (20, 0.0, None, 1800),  # capped at an hour, then half of it
        (1, 0.0, 120.0, 120),  # Retry-After wins
        (4, 0.999999, 1.0, 80),  # the backoff is longer than Retry-After
    ],
    ids=["first", "first-full-jitter", "third", "fourth", "capped", "retry-after",
         "backoff-longer"],
)  # fmt: skip
def test_backoff(attempts: int, jitter: float, retry_after: float | None, seconds: float) -> None:
    wait = Backoff().delay(attempts, jitter=jitter, retry_after=retry_after)
    assert wait.total_seconds() == pytest.approx(seconds, abs=1e-3)


def test_backoff_gives_up_after_max_attempts() -> None:
    backoff = Backoff(max_attempts=3)
    assert [backoff.exhausted(n) for n in (1, 2, 3, 4)] == [False, False, True, True]
