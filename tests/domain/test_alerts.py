"""Alert transitions, routing and delivery backoff, by table."""

from datetime import UTC, datetime, timedelta

import pytest

from slo_service.domain.alerts import (
    AlertName,
    Backoff,
    Firing,
    Route,
    RouteEvent,
    Transition,
    dedup_key,
    inhibited,
    repeat_due,
    route,
    silent,
    to_send,
    transitions,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_dedup_key_is_stable_per_slo_and_alert() -> None:
    assert dedup_key(7, "page") == "slo-7-page"
    assert dedup_key(7, "ticket") == "slo-7-ticket"
    assert dedup_key(7, "nodata") == "slo-7-nodata"
    assert dedup_key(8, "page") != dedup_key(7, "page")


@pytest.mark.parametrize(
    ("firing_now", "stored", "expected"),
    [
        ([], [], []),
        (["page"], [], [("page", "trigger")]),
        (["page"], ["page"], []),
        ([], ["page"], [("page", "resolve")]),
        (["ticket"], ["page"], [("page", "resolve"), ("ticket", "trigger")]),
        (["page", "ticket", "nodata"], ["ticket"], [("nodata", "trigger"), ("page", "trigger")]),
    ],
    ids=["quiet", "starts", "keeps-firing", "stops", "page-to-ticket", "all-three"],
)
def test_transitions(
    firing_now: list[str], stored: list[str], expected: list[tuple[str, Transition]]
) -> None:
    assert transitions(firing_now, [Firing(key, T0) for key in stored]) == expected


@pytest.mark.parametrize(
    ("name", "firing", "muted"),
    [
        ("ticket", ["page", "ticket"], True),
        ("ticket", ["ticket"], False),
        ("page", ["page", "ticket"], False),
        ("nodata", ["page", "nodata"], False),
    ],
    ids=["ticket-under-page", "ticket-alone", "page-never", "nodata-never"],
)
def test_only_the_ticket_is_inhibited_and_only_by_its_page(
    name: AlertName, firing: list[AlertName], muted: bool
) -> None:
    assert inhibited(name, firing) is muted


@pytest.mark.parametrize(
    ("change", "muted", "notified", "expected"),
    [
        ("trigger", False, False, "trigger"),
        ("trigger", True, False, None),
        (None, True, False, None),
        (None, False, False, "trigger"),
        (None, False, True, "repeat"),
        (None, True, True, None),
        ("resolve", False, True, "resolve"),
        ("resolve", False, False, None),
    ],
    ids=["trigger", "born-inhibited", "still-inhibited", "inhibition-ends-unsent",
         "keeps-firing", "inhibited-after-sent", "resolve", "resolve-never-sent"],
)  # fmt: skip
def test_what_is_sent(
    change: Transition | None, muted: bool, notified: bool, expected: Transition | None
) -> None:
    assert to_send(change, inhibited=muted, notified=notified) == expected


@pytest.mark.parametrize(
    ("data_until", "no_data_for", "expected"),
    [
        (T0 - timedelta(minutes=29), timedelta(minutes=30), False),
        (T0 - timedelta(minutes=30), timedelta(minutes=30), True),
        (T0 - timedelta(days=300), None, False),
    ],
    ids=["recent", "silent-for-long-enough", "never"],
)
def test_silent(data_until: datetime, no_data_for: timedelta | None, expected: bool) -> None:
    assert silent(data_until, now=T0, no_data_for=no_data_for) is expected


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
    assert repeat_due(Firing("page", T0, notified), 1, every, now=now) is due


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


FREEZE_ROUTES = [
    Route(1, severities=["page"], events=["alerts", "freeze"]),  # PagerDuty that asked for it
    Route(2, services=["churn"], labels={"team": "growth"}, events=["freeze"]),
    Route(3, services=["fraud"]),  # alerts only, the default
    Route(9, default=True, events=["alerts", "freeze"]),
]


@pytest.mark.parametrize(
    ("service", "event", "severity", "expected"),
    [
        ("churn", "freeze", "ticket", [1]),  # severities do not apply to freeze news
        ("fraud", "alerts", "ticket", [3]),
        ("fraud", "alerts", "page", [1]),
        ("churn", "alerts", "ticket", [9]),  # route 2 takes freezes only
    ],
    ids=["freeze-ignores-severity", "alerts-only-route", "page", "freeze-only-route"],
)
def test_routes_take_freeze_news_only_when_they_ask(
    service: str, event: RouteEvent, severity: str, expected: list[int]
) -> None:
    found = route(FREEZE_ROUTES, service=service, labels={}, severity=severity, event=event)
    assert found == expected


def test_a_route_that_does_not_ask_for_freezes_gets_none() -> None:
    alerts_only = [Route(1), Route(9, default=True)]
    assert route(alerts_only, service="churn", labels={}, severity="ticket", event="freeze") == []


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
