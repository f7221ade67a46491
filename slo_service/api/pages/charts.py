"""Server-side SVG charts for the SLA pages, so the pages need no JavaScript at all.

Each function returns SVG markup that the templates embed inline with ``|safe``, so every piece
of text is escaped here and nowhere else. Each chart says in words (``<title>`` and
``aria-label``) what it shows, because colour must never be the only signal, and is styled only
through CSS classes (``chart``, ``line``, ``line-sli``, ``line-budget``, ``objective``, ``zero``,
``marker``, ``axis``, ``label``, ``area``; states ``ok``, ``warn``, ``bad``) so a stylesheet
themes it. The few presentation attributes (``fill="none"``, round caps, a dash) only keep an
unstyled chart legible; CSS overrides them. The overview draws a thousand sparklines and budget
bars per page, so those two are plain string building. None, NaN and inf are gaps, never 0.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

__all__ = ["Marker", "budget_bar", "sparkline", "state_of", "time_chart"]

SVG_NS = "http://www.w3.org/2000/svg"
STATES = frozenset({"ok", "warn", "bad", "none"})

_SPARK_MARGIN = 3.0  # room for the last-point dot at the top and bottom of a sparkline
_DOT_RADIUS = 2.0
_LEFT, _RIGHT, _TOP, _BOTTOM = 56.0, 8.0, 12.0, 24.0  # time chart insets: tick and date labels
_PADDING = 0.05
_NICE_STEPS = (1.0, 2.0, 2.5, 5.0)
_LINE = 'fill="none" stroke-linecap="round" stroke-linejoin="round"'
_THIN = 'vector-effect="non-scaling-stroke"'


@dataclass(frozen=True)
class Marker:
    """A moment worth a vertical line on a time chart, e.g. a deploy."""

    at: datetime
    label: str


def state_of(remaining: float | None, *, warn: float, freeze: float) -> str:
    """bad at or below ``freeze``, warn at or below ``warn``, none without data, ok otherwise."""
    remaining = _finite(remaining)
    if remaining is None:
        return "none"
    if remaining <= freeze:
        return "bad"
    if remaining <= warn:
        return "warn"
    return "ok"


def sparkline(
    values: Sequence[float | None],
    *,
    width: int = 120,
    height: int = 28,
    low: float | None = None,
    high: float | None = None,
    label: str = "",
    state: str = "ok",
) -> str:
    """Values left to right, equally spaced, y over ``low..high`` (default: their min..max);
    the last value gets a dot of class ``state``. ``label`` is the words a reader hears."""
    if state not in STATES:
        raise ValueError(f"state must be one of {sorted(STATES)}, not {state!r}")
    clean = [_finite(value) for value in values]
    present = [value for value in clean if value is not None]
    title = escape(label) if label else "trend"
    frame = ' preserveAspectRatio="none"'
    if not present:
        return (
            _open("sparkline", width, height, f"{title}: no data" if label else "no data", frame)
            + _text("label", width / 2, height / 2 + 3.5, "no data", "middle", ' font-size="10"')
            + "</svg>"
        )
    lo = min(present) if low is None else low
    hi = max(present) if high is None else high
    if hi < lo:
        raise ValueError(f"high ({hi}) is below low ({lo})")
    points = _spark_points(clean, width, height, lo, hi)
    last_x, last_y = next(point for point in reversed(points) if point is not None)
    parts = [_open("sparkline", width, height, title, frame)]
    if lo < 0 < hi:
        zero_y = height - _SPARK_MARGIN - (0 - lo) / (hi - lo) * (height - 2 * _SPARK_MARGIN)
        parts.append(_hline("zero", 0, width, zero_y, _THIN))
    parts.append(f'<path class="line" d="{_path_d(points)}" {_LINE} {_THIN}/>')
    parts.append(f'<circle class="{state}" cx="{last_x:.2f}" cy="{last_y:.2f}" r="{_DOT_RADIUS}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _spark_points(
    values: list[float | None], width: float, height: float, low: float, high: float
) -> list[tuple[float, float] | None]:
    """x equally spaced between the margins; a flat range puts every value at mid height."""
    margin = _SPARK_MARGIN
    count = len(values)
    step = (width - 2 * margin) / (count - 1) if count > 1 else 0.0
    first_x = margin if count > 1 else width / 2
    if high > low:
        scale = (height - 2 * margin) / (high - low)
        zero_y = height - margin + low * scale
        return [
            None if v is None else (first_x + i * step, zero_y - min(max(v, low), high) * scale)
            for i, v in enumerate(values)
        ]
    return [None if v is None else (first_x + i * step, height / 2) for i, v in enumerate(values)]


def budget_bar(
    remaining: float | None, *, warn: float, freeze: float, width: int = 120, height: int = 12
) -> str:
    """The remaining budget fraction as a bar clamped to [0, 1], classed by ``state_of``, with
    ticks at the warn and freeze thresholds and the numbers in words."""
    remaining = _finite(remaining)
    state = state_of(remaining, warn=warn, freeze=freeze)
    bar = ""
    if remaining is None:
        title = "no data"
    else:
        filled = min(max(remaining, 0.0), 1.0) * width
        bar = f'<rect class="{state}" x="0" y="0" width="{filled:.2f}" height="{height}"/>'
        if remaining < 0:
            title = f"overspent: {_short_pct(remaining)} of the error budget"
        else:
            title = (
                f"{_short_pct(remaining)} of the error budget left "
                f"(warn at {_short_pct(warn)}, freeze at {_short_pct(freeze)})"
            )
    ticks = "".join(
        f'<line class="axis" x1="{at * width:.2f}" x2="{at * width:.2f}" y1="0" '
        f'y2="{height}" {_THIN}/>'
        for at in sorted({warn, freeze})
        if 0 < at < 1
    )
    return (
        _open("budget-bar", width, height, title, ' preserveAspectRatio="none"')
        + f'<rect class="area" x="0" y="0" width="{width}" height="{height}" fill="none"/>'
        + bar
        + ticks
        + "</svg>"
    )


def _short_pct(fraction: float) -> str:
    """41%, 2.5%, -120%: whole percents unless that would hide a small number."""
    pct = fraction * 100 + 0.0  # + 0.0 turns -0.0 into 0.0
    if pct == 0 or abs(pct) >= 9.95:
        return f"{pct:.0f}%"
    if abs(pct) >= 0.05:
        return f"{pct:.1f}%".replace(".0%", "%")
    return f"{pct:.2f}%"


@dataclass(frozen=True)
class _Plot:
    """The plot area of a time chart and the mapping of (time, value) into it."""

    left: float
    top: float
    width: float
    height: float
    start: datetime
    span: timedelta
    low: float = 0.0
    high: float = 1.0

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def x(self, at: datetime) -> float:
        return self.left + (at - self.start) / self.span * self.width

    def y(self, value: float) -> float:
        clamped = min(max(value, self.low), self.high)
        return self.top + (self.high - clamped) / (self.high - self.low) * self.height


def time_chart(
    series: Sequence[tuple[datetime, float | None]],
    *,
    start: datetime,
    end: datetime,
    width: int = 720,
    height: int = 220,
    low: float | None = None,
    high: float | None = None,
    objective: float | None = None,
    objective_label: str = "objective",
    markers: Sequence[Marker] = (),
    kind: str = "sli",
    label: str = "",
    percent: bool = True,
) -> str:
    """The series over [start, end] by time, with the objective, zero and marker lines, y ticks
    and the start and end dates; the title adds the latest and lowest values in words."""
    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    points = sorted(
        ((at, _finite(value)) for at, value in series if start <= at <= end), key=lambda p: p[0]
    )
    present = [value for _, value in points if value is not None]
    objective = _finite(objective)
    inner_w, inner_h = max(width - _LEFT - _RIGHT, 1.0), max(height - _TOP - _BOTTOM, 1.0)
    plot = _Plot(_LEFT, _TOP, inner_w, inner_h, start, end - start)
    if not present:
        title = f"{escape(label)}: no data for this period" if label else "No data for this period"
        middle = plot.top + plot.height / 2 + 4
        no_data = _text("label", plot.left + plot.width / 2, middle, "no data for this period")
        return _open("time-chart", width, height, title, ' font-size="11"') + (
            _frame(plot) + no_data + _x_axis(plot, end) + "</svg>"
        )
    lo, hi = _y_range(present, objective, low, high)
    plot = _Plot(_LEFT, _TOP, inner_w, inner_h, start, end - start, lo, hi)
    ticks, decimals = _ticks(lo, hi, percent)
    shown = [marker for marker in markers if start <= marker.at <= end]
    words = _summary(label, present, objective, shown, max(decimals, 2), percent)
    line = [None if value is None else (plot.x(at), plot.y(value)) for at, value in points]
    return "".join(
        [
            _open("time-chart", width, height, words, ' font-size="11"'),
            _frame(plot),
            _y_axis(plot, ticks, decimals, percent),
            _x_axis(plot, end),
            _hline("zero", plot.left, plot.right, plot.y(0)) if lo < 0 < hi else "",
            _objective(plot, objective, objective_label),
            _markers(plot, shown),
            f'<path class="line line-{escape(kind)}" d="{_path_d(line)}" {_LINE}/>',
            "</svg>",
        ]
    )


def _y_range(
    values: list[float], objective: float | None, low: float | None, high: float | None
) -> tuple[float, float]:
    """The values' and objective's range padded by 5%, unless ``low``/``high`` say otherwise."""
    everything = values if objective is None else [*values, objective]
    lo, hi = min(everything), max(everything)
    pad = (hi - lo) * _PADDING if hi > lo else 0.01 * (abs(hi) or 1.0)
    lo, hi = (lo - pad if low is None else low), (hi + pad if high is None else high)
    if hi > lo:
        return lo, hi
    if low is not None and high is not None:
        raise ValueError(f"high ({high}) must be above low ({low})")
    return (lo, lo + 2 * pad) if high is None else (hi - 2 * pad, hi)


def _ticks(low: float, high: float, percent: bool) -> tuple[list[float], int]:
    """3 to 5 round values (steps of 1, 2, 2.5 or 5 times a power of ten) within [low, high],
    and the decimals that tell them apart; four even ticks when no round step fits."""
    shift = 2 if percent else 0
    exponent = math.floor(math.log10((high - low) / 5))
    for power in range(exponent, exponent + 3):
        for mantissa in _NICE_STEPS:
            step = mantissa * 10.0**power
            first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
            if 3 <= last - first + 1 <= 5:
                decimals = max(0, (1 if mantissa == 2.5 else 0) - power - shift)
                return [k * step for k in range(first, last + 1)], decimals
    step = (high - low) / 3
    decimals = max(0, 1 - math.floor(math.log10(step)) - shift)
    return [low + k * step for k in range(4)], decimals


def _number(value: float, decimals: int, percent: bool) -> str:
    if percent:
        return f"{round(value * 100, decimals) + 0.0:.{decimals}f}%"
    return f"{round(value, decimals) + 0.0:.{decimals}f}"


def _summary(
    label: str,
    values: list[float],
    objective: float | None,
    markers: list[Marker],
    decimals: int,
    percent: bool,
) -> str:
    """'SLI over 30d: latest 99.95%, lowest 99.12%; objective 99.90%', escaped."""
    words = (
        f"latest {_number(values[-1], decimals, percent)}, "
        f"lowest {_number(min(values), decimals, percent)}"
    )
    if objective is not None:
        words += f"; objective {_number(objective, decimals, percent)}"
    if markers:
        words += "; markers: " + ", ".join(marker.label for marker in markers)
    return escape(f"{label}: {words}" if label else words)


def _frame(plot: _Plot) -> str:
    return (
        f'<rect class="area" x="{plot.left:.2f}" y="{plot.top:.2f}" width="{plot.width:.2f}" '
        f'height="{plot.height:.2f}" fill="none"/>'
        f'<path class="axis" d="M{plot.left:.2f} {plot.top:.2f}V{plot.bottom:.2f}'
        f'H{plot.right:.2f}" fill="none"/>'
    )


def _y_axis(plot: _Plot, ticks: list[float], decimals: int, percent: bool) -> str:
    parts = []
    for tick in ticks:
        y = plot.y(tick)
        parts.append(f'<path class="axis" d="M{plot.left - 4:.2f} {y:.2f}H{plot.left:.2f}"/>')
        text = _number(tick, decimals, percent)
        parts.append(_text("label y-tick", plot.left - 6, y + 4, text, "end"))
    return "".join(parts)


def _x_axis(plot: _Plot, end: datetime) -> str:
    """The start and end dates, or times of day when the span is under two days."""
    hours = plot.span < timedelta(days=2)
    y = plot.bottom + 16
    return _text("label x-tick", plot.left, y, _when(plot.start, hours), "start") + _text(
        "label x-tick", plot.right, y, _when(end, hours), "end"
    )


def _when(at: datetime, hours: bool) -> str:
    return escape(f"{at:%H:%M}" if hours else f"{at:%b} {at.day}")


def _objective(plot: _Plot, objective: float | None, label: str) -> str:
    """A dashed line with its label at the right end, above it unless that leaves the frame."""
    if objective is None or not plot.low <= objective <= plot.high:
        return ""
    y = plot.y(objective)
    text_y = y - 4 if y - plot.top >= 14 else y + 13
    return _hline("objective", plot.left, plot.right, y, 'stroke-dasharray="6 4"') + _text(
        "label", plot.right - 4, text_y, escape(label), "end"
    )


def _markers(plot: _Plot, markers: list[Marker]) -> str:
    parts = []
    for marker in markers:
        x = plot.x(marker.at)
        parts.append(
            f"<g><title>{escape(marker.label)}</title>"
            f'<line class="marker" x1="{x:.2f}" x2="{x:.2f}" y1="{plot.top:.2f}" '
            f'y2="{plot.bottom:.2f}"/></g>'
        )
    return "".join(parts)


def _open(kind: str, width: float, height: float, title: str, extra: str = "") -> str:
    """The root element and its title; ``title`` is escaped already."""
    return (
        f'<svg xmlns="{SVG_NS}" class="chart {kind}" role="img" aria-label="{title}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}"{extra}>'
        f"<title>{title}</title>"
    )


def _text(cls: str, x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> str:
    """A text element; ``text`` is escaped already."""
    return (
        f'<text class="{cls}" x="{x:.2f}" y="{y:.2f}" text-anchor="{anchor}"{extra}>{text}</text>'
    )


def _hline(cls: str, left: float, right: float, y: float, extra: str = "") -> str:
    return (
        f'<line class="{cls}" x1="{left:.2f}" x2="{right:.2f}" y1="{y:.2f}" y2="{y:.2f}" {extra}/>'
    )


def _path_d(points: Sequence[tuple[float, float] | None]) -> str:
    """M/L commands, a new M after each gap; a lone point is ``h0``, which a round cap draws
    as a dot."""
    parts: list[str] = []
    run = 0
    for point in points:
        if point is None:
            if run == 1:
                parts.append("h0")
            run = 0
            continue
        parts.append(f"{'L' if run else 'M'}{point[0]:.2f} {point[1]:.2f}")
        run += 1
    if run == 1:
        parts.append("h0")
    return "".join(parts)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
