from datetime import timedelta

import pytest

from slo_service.domain.windows import parse_duration, parse_timezone, parse_window


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


def test_time_zones() -> None:
    assert str(parse_timezone("Europe/Berlin")) == "Europe/Berlin"
    with pytest.raises(ValueError, match="IANA"):
        parse_timezone("Mars/Olympus")
