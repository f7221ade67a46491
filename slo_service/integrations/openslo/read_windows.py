"""The windows of an OpenSLO SLO: its ``timeWindow`` and an objective's ``timeSliceWindow``.

OpenSLO's own rules live here: a rolling window in h, d or w, the calendar durations 1M and
1w, a calendar ``startTime`` at the start of a period, a time slice given in minutes or
seconds. The durations themselves are parsed by ``domain.windows``.
"""

from datetime import date, datetime, time, timedelta
from typing import Any

from slo_service.domain.burn import nominal_length
from slo_service.domain.windows import (
    format_duration,
    parse_duration,
    parse_timezone,
    parse_window,
)
from slo_service.integrations.openslo.common import (
    CALENDAR_DURATIONS,
    CALENDAR_START,
    DURATION_UNITS,
)
from slo_service.integrations.openslo.read_fields import (
    as_mapping,
    as_string,
    check_keys,
    fail,
)
from slo_service.integrations.where import Here


def read_slice_window(here: Here, value: Any, bucket: timedelta) -> None:
    """Refuse a ``timeSliceWindow`` (minutes as a number, or a duration) other than one
    bucket: slo-service reads one value per bucket."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        length = timedelta(minutes=value)
    else:
        text = as_string(here, value)
        try:
            length = parse_duration(text) if not text.endswith("s") else _seconds(text)
        except ValueError as exc:
            fail(here, str(exc))
    if length != bucket:
        shown = format_duration(bucket, DURATION_UNITS)
        fail(
            here,
            f"slo-service's time slice is one bucket of {shown} (SLO_BUCKET_SECONDS); give {shown}",
        )


def _seconds(text: str) -> timedelta:
    """A duration in whole seconds, ``30s``: OpenSLO allows them, ``parse_duration`` not."""
    if not text[:-1].isdigit():
        raise ValueError(f"{text!r} is not a duration")
    return timedelta(seconds=int(text[:-1]))


def read_time_window(here: Here, value: Any) -> tuple[str, str, timedelta]:
    """The native window, its time zone, and its length (a calendar window's nominal one),
    which a tier's long window must not exceed."""
    if not isinstance(value, list) or len(value) != 1:
        fail(here, "give a list of exactly one window")
    at = here.at(0)
    item = as_mapping(at, value[0])
    check_keys(at, item, {"duration", "isRolling", "calendar"}, required=("duration",))
    duration = as_string(at.at("duration"), item["duration"])
    rolling = item.get("isRolling", "calendar" not in item)
    if not isinstance(rolling, bool):
        fail(at.at("isRolling"), "give true or false")
    if rolling:
        if "calendar" in item:
            fail(at.at("calendar"), "a rolling window has no calendar: set isRolling: false")
        try:
            window = parse_window(duration)
        except ValueError as exc:
            fail(at.at("duration"), str(exc))
        if window.length is None or duration != duration.lower():
            fail(at.at("duration"), f"{duration!r}: a rolling window is given in h, d or w")
        return window.spec, "UTC", window.length
    if duration not in CALENDAR_DURATIONS:
        fail(
            at.at("duration"),
            f"{duration!r}: slo-service's calendar windows are 1M (a month) and 1w (a week)",
        )
    period = CALENDAR_DURATIONS[duration]
    if "calendar" not in item:
        fail(at.at("calendar"), "a calendar window needs calendar: {startTime, timeZone}")
    calendar = as_mapping(at.at("calendar"), item["calendar"])
    check_keys(at.at("calendar"), calendar, {"startTime", "timeZone"})
    timezone = as_string(at.at("calendar", "timeZone"), calendar.get("timeZone", "UTC"))
    try:
        parse_timezone(timezone)
    except ValueError as exc:
        fail(at.at("calendar", "timeZone"), str(exc))
    if "startTime" in calendar:
        _start_time(at.at("calendar", "startTime"), calendar["startTime"], period)
    return period, timezone, nominal_length(parse_window(period))


def _start_time(here: Here, value: Any, period: str) -> None:
    """Refuse a ``calendar.startTime`` that is not the start of a ``period``."""
    if isinstance(value, datetime):
        start = value
    elif isinstance(value, date):
        start = datetime.combine(value, time())
    else:
        text = as_string(here, value)
        try:
            start = datetime.fromisoformat(text)
        except ValueError:
            fail(here, f"{text!r} is not a date and time such as 2024-01-01 00:00:00")
    if start.tzinfo is not None:
        fail(here, "give the start without a UTC offset: calendar.timeZone is its time zone")
    first = start.day == 1 if period == "month" else start.weekday() == 0
    if not first or start.time() != time():
        what = "the 1st of a month" if period == "month" else "a Monday"
        fail(
            here,
            f"{start:%Y-%m-%d %H:%M:%S} is not the start of a {period}: slo-service's {period}s "
            f"start on {what} at 00:00 in the time zone; give e.g. {CALENDAR_START}",
        )
