"""SLO windows and durations as text: ``30d``, ``12h``, ``2w``, ``month``, ``week``, ``5m``."""

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
_UNITS["w"] = 7 * _UNITS["d"]
# format_duration also writes seconds, which parse_duration does not read.
_UNIT_SECONDS = {"s": 1} | {unit: int(size.total_seconds()) for unit, size in _UNITS.items()}
_DURATION = re.compile(r"^([1-9][0-9]{0,5})([mhdw])$")

MIN_ROLLING = timedelta(hours=1)
MAX_ROLLING = timedelta(days=366)
CALENDAR_PERIODS = ("month", "week")

WINDOW_HELP = (
    "use a rolling window such as 30d, 28d, 7d, 12h or 4w (1h to 366d), "
    "or a calendar window: month or week"
)


@dataclass(frozen=True)
class Window:
    """A parsed window: rolling (``length`` set) or calendar (``calendar`` set)."""

    spec: str
    length: timedelta | None = None
    calendar: Literal["month", "week"] | None = None

    @property
    def is_rolling(self) -> bool:
        return self.length is not None


def parse_duration(text: str) -> timedelta:
    """``5m``, ``6h``, ``3d``, ``2w`` → timedelta; ValueError with the reason otherwise."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: use a whole number and a unit m, h, d or w, e.g. 5m or 6h"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_window(text: str) -> Window:
    """Parse an SLO window; ValueError says what to write instead."""
    spec = text.strip().lower()
    if spec == "month":
        return Window(spec=spec, calendar="month")
    if spec == "week":
        return Window(spec=spec, calendar="week")
    match = _DURATION.match(spec)
    if match is None or match.group(2) == "m":
        raise ValueError(f"{text!r} is not a window: {WINDOW_HELP}")
    length = parse_duration(spec)
    if not MIN_ROLLING <= length <= MAX_ROLLING:
        raise ValueError(f"{text!r} is out of range: {WINDOW_HELP}")
    return Window(spec=spec, length=length)


def parse_timezone(name: str) -> ZoneInfo:
    """An IANA time zone such as ``UTC`` or ``Europe/Berlin``; ValueError otherwise."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone: use a name such as UTC or Europe/Berlin"
        ) from None


@dataclass(frozen=True)
class Span:
    """A half-open time range ``[start, end)``."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def period(window: Window, at: datetime, tz: ZoneInfo) -> Span:
    """The budget period containing ``at``: the rolling window ending at ``at``, or the calendar
    month or week (Monday first) in ``tz`` that ``at`` falls in (its budget starts afresh)."""
    if window.length is not None:
        return Span(at - window.length, at)
    local = at.astimezone(tz)
    if window.calendar == "month":
        start = datetime(local.year, local.month, 1, tzinfo=tz)
        following = (
            datetime(local.year + 1, 1, 1, tzinfo=tz)
            if local.month == 12
            else datetime(local.year, local.month + 1, 1, tzinfo=tz)
        )
    else:
        monday = local.date() - timedelta(days=local.weekday())
        start = datetime(monday.year, monday.month, monday.day, tzinfo=tz)
        following_day = monday + timedelta(days=7)
        following = datetime(following_day.year, following_day.month, following_day.day, tzinfo=tz)
    return Span(start.astimezone(UTC), following.astimezone(UTC))


def align(at: datetime, bucket: timedelta) -> datetime:
    """The start of the bucket (aligned to the Unix epoch) that contains ``at``."""
    seconds = int(bucket.total_seconds())
    stamp = int(at.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, UTC)


@functools.lru_cache(maxsize=1024)  # a status formats a few dozen lengths, the same each time
def format_duration(length: timedelta, units: str = "wdhm") -> str:
    """The shortest text of ``length``: a whole number of the largest of ``units`` (letters of
    ``wdhms``) that states it exactly, after rounding it down to the smallest of them.

    The default units are those ``parse_duration`` reads; a format that knows seconds, or no
    weeks (``28d``, not ``4w``), passes its own.
    """
    sizes = sorted(((_UNIT_SECONDS[unit], unit) for unit in units), reverse=True)
    smallest = sizes[-1][0]
    seconds = int(length.total_seconds()) // smallest * smallest
    return next(f"{seconds // size}{unit}" for size, unit in sizes if seconds % size == 0)
