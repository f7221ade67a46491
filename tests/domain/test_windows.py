from datetime import datetime, timedelta

import pytest

from slo_service.domain.windows import (
    align,
    format_duration,
    parse_duration,
    parse_timezone,
    parse_window,
    period,
)


@pytest.mark.parametrize(
    ("text", "length", "calendar"),
    [
        ("30d", timedelta(days=30), None),
        ("7D", timedelta(days=7), None),
        ("12h", timedelta(hours=12), None),
        ("4w", timedelta(weeks=4), None),
        ("1h", timedelta(hours=1), None),
        ("366d", timedelta(days=366), None),
        ("month", None, "month"),
        (" Week ", None, "week"),
    ],
    ids=["30d", "upper-case", "hours", "weeks", "shortest", "longest", "month", "week-padded"],
)
def test_windows_that_parse(text: str, length: timedelta | None, calendar: str | None) -> None:
    window = parse_window(text)
    assert window.length == length
    assert window.calendar == calendar
    assert window.is_rolling is (length is not None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("30x", "is not a window"),
        ("", "is not a window"),
        ("0d", "is not a window"),
        ("30m", "is not a window"),
        ("367d", "out of range"),
        ("-1d", "is not a window"),
        ("quarter", "is not a window"),
        ("1.5d", "is not a window"),
    ],
    ids=["bad-unit", "empty", "zero", "minutes", "too-long", "negative", "quarter", "fraction"],
)
def test_windows_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as info:
        parse_window(text)
    assert "30d" in str(info.value)  # the message shows what to write instead


@pytest.mark.parametrize(
    ("text", "expected"),
    [("5m", timedelta(minutes=5)), ("6h", timedelta(hours=6)), ("3d", timedelta(days=3))],
    ids=["minutes", "hours", "days"],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["5", "m", "5s", "0m", "5 m"], ids=str)
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("length", "units", "expected"),
    [
        (timedelta(days=30), "wdhm", "30d"),
        (timedelta(days=28), "wdhm", "4w"),
        (timedelta(minutes=90), "wdhm", "90m"),
        (timedelta(hours=36), "wdhm", "36h"),
        (timedelta(hours=1, seconds=30), "wdhm", "1h"),
        (timedelta(seconds=59), "wdhm", "0w"),
        (timedelta(0), "wdhm", "0w"),
        (timedelta(days=28), "dhms", "28d"),
        (timedelta(days=7), "dhms", "7d"),
        (timedelta(seconds=90), "dhms", "90s"),
        (timedelta(seconds=120), "dhms", "2m"),
        (timedelta(seconds=1.5), "dhms", "1s"),
        (timedelta(days=1), "hm", "24h"),
        (timedelta(hours=1, minutes=1), "hd", "1h"),
    ],
    ids=[
        "days",
        "weeks",
        "minutes",
        "hours",
        "seconds-rounded-down",
        "under-a-minute",
        "zero",
        "no-weeks",
        "a-week-in-days",
        "seconds",
        "whole-minutes",
        "fraction-of-a-second",
        "no-days",
        "rounded-down-to-the-smallest-unit",
    ],
)
def test_format_duration(length: timedelta, units: str, expected: str) -> None:
    assert format_duration(length, units) == expected


def test_format_duration_defaults_to_what_parse_duration_reads() -> None:
    for text in ("5m", "6h", "3d", "2w"):
        assert format_duration(parse_duration(text)) == text


def test_time_zones() -> None:
    assert str(parse_timezone("Europe/Berlin")) == "Europe/Berlin"
    with pytest.raises(ValueError, match="IANA"):
        parse_timezone("Mars/Olympus")


@pytest.mark.parametrize(
    ("spec", "at", "zone", "start", "end"),
    [
        (
            "30d",
            "2026-03-15T12:34:00+00:00",
            "UTC",
            "2026-02-13T12:34:00+00:00",
            "2026-03-15T12:34:00+00:00",
        ),
        (
            "month",
            "2026-03-15T12:34:00+00:00",
            "UTC",
            "2026-03-01T00:00:00+00:00",
            "2026-04-01T00:00:00+00:00",
        ),
        (
            "month",
            "2026-12-31T23:59:00+00:00",
            "UTC",
            "2026-12-01T00:00:00+00:00",
            "2027-01-01T00:00:00+00:00",
        ),
        (
            "month",
            "2026-03-31T22:30:00+00:00",
            "Europe/Berlin",
            "2026-03-31T22:00:00+00:00",
            "2026-04-30T22:00:00+00:00",
        ),
        (
            "month",
            "2026-03-15T00:00:00+00:00",
            "Europe/Berlin",
            "2026-02-28T23:00:00+00:00",
            "2026-03-31T22:00:00+00:00",
        ),
        (
            "week",
            "2026-11-23T10:00:00+00:00",
            "UTC",
            "2026-11-23T00:00:00+00:00",
            "2026-11-30T00:00:00+00:00",
        ),
        (
            "week",
            "2026-11-22T23:30:00+00:00",
            "Asia/Tokyo",
            "2026-11-22T15:00:00+00:00",
            "2026-11-29T15:00:00+00:00",
        ),
        (
            "month",
            "2026-02-10T00:00:00+00:00",
            "America/New_York",
            "2026-02-01T05:00:00+00:00",
            "2026-03-01T05:00:00+00:00",
        ),
    ],
    ids=[
        "rolling",
        "month",
        "december",
        "berlin-next-month-local",
        "berlin-dst-inside",
        "week-monday",
        "tokyo-week-crosses-utc-day",
        "new-york",
    ],
)
def test_periods(spec: str, at: str, zone: str, start: str, end: str) -> None:
    span = period(parse_window(spec), datetime.fromisoformat(at), parse_timezone(zone))
    assert span.start == datetime.fromisoformat(start)
    assert span.end == datetime.fromisoformat(end)


@pytest.mark.parametrize(
    ("at", "bucket", "expected"),
    [
        ("2026-11-23T10:00:59.9+00:00", 60, "2026-11-23T10:00:00+00:00"),
        ("2026-11-23T10:01:00+00:00", 60, "2026-11-23T10:01:00+00:00"),
        ("2026-11-23T10:07:30+00:00", 300, "2026-11-23T10:05:00+00:00"),
        ("2026-11-23T11:07:30+01:00", 300, "2026-11-23T10:05:00+00:00"),
    ],
    ids=["inside", "on-edge", "five-minutes", "other-offset"],
)
def test_align(at: str, bucket: int, expected: str) -> None:
    aligned = align(datetime.fromisoformat(at), timedelta(seconds=bucket))
    assert aligned == datetime.fromisoformat(expected)
