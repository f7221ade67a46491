import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from slo_service.api.pages.charts import Marker, budget_bar, sparkline, state_of, time_chart

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2024, 11, 1, tzinfo=UTC)
END = START + timedelta(days=30)
NAN = math.nan
PAIR = re.compile(r"(-?\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?)")

Point = tuple[float, float]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def elements(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [el for el in root.iter(f"{SVG}{tag}") if cls in classes(el)]


def segments(root: ET.Element, cls: str = "line") -> list[list[Point]]:
    """The data line's M-separated runs of points."""
    (path,) = elements(root, "path", cls)
    runs = path.get("d", "").split("M")[1:]
    return [[(float(x), float(y)) for x, y in PAIR.findall(run)] for run in runs]


def points(root: ET.Element, cls: str = "line") -> list[Point]:
    return [point for run in segments(root, cls) for point in run]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [el.text or "" for el in elements(root, "text", cls)]


def title(root: ET.Element) -> str:
    element = root.find(f"{SVG}title")
    assert element is not None
    return element.text or ""


def plot_area(root: ET.Element) -> tuple[float, float, float, float]:
    (rect,) = elements(root, "rect", "area")
    x, y, width, height = (float(rect.get(name, "nan")) for name in ("x", "y", "width", "height"))
    return x, y, width, height


def at(fraction: float) -> datetime:
    return START + (END - START) * fraction


# -- every chart -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "render",
    [
        lambda: sparkline([1.0, 0.5, 0.4], label="Budget left"),
        lambda: sparkline([]),
        lambda: time_chart([(START, 0.99)], start=START, end=END, label="SLI"),
        lambda: time_chart([], start=START, end=END),
        lambda: budget_bar(0.4, warn=0.25, freeze=0.0),
        lambda: budget_bar(None, warn=0.25, freeze=0.0),
    ],
    ids=["sparkline", "sparkline-empty", "time-chart", "time-chart-empty", "bar", "bar-empty"],
)
def test_every_chart_is_an_accessible_themeable_image(render: Callable[[], str]) -> None:
    root = parse(render())
    assert root.get("role") == "img"
    assert root.get("aria-label") == title(root) != ""
    assert "chart" in classes(root)
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert not any(
        el.get(attribute, "none").startswith(("#", "rgb", "red", "green"))
        for el in root.iter()
        for attribute in ("fill", "stroke")
    )


# -- sparkline ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "count", "runs", "lone"),
    [
        ([1.0, 2.0, 3.0, 4.0], 4, 1, 0),
        ([1.0, None, 3.0, 4.0], 3, 2, 1),
        ([None, 1.0, 2.0, None], 2, 1, 0),
        ([1.0, NAN, 2.0, math.inf, 3.0], 3, 3, 3),
        ([1.0, None, None, 2.0, 2.5, None, 3.0], 4, 3, 2),
        ([5.0], 1, 1, 1),
    ],
    ids=["full", "one-gap", "edges-missing", "nan-and-inf-are-gaps", "two-gaps", "single"],
)
def test_sparkline_draws_one_point_per_value_and_breaks_at_gaps(
    values: list[float | None], count: int, runs: int, lone: int
) -> None:
    root = parse(sparkline(values))
    assert len(points(root)) == count
    assert len(segments(root)) == runs
    (path,) = elements(root, "path", "line")
    assert path.get("d", "").count("h0") == lone  # a lone point is drawn as a dot


@pytest.mark.parametrize(
    ("values", "width"),
    [
        ([0.1 * i for i in range(12)], 120),
        ([1.0, 0.2, 0.7, 0.3, 0.9], 300),
        ([1.0, None, 0.7, None, 0.9, 0.8], 90),
    ],
    ids=["twelve", "five-wide", "with-gaps"],
)
def test_sparkline_spaces_x_equally_across_the_width(
    values: list[float | None], width: int
) -> None:
    xs = [x for x, _ in points(parse(sparkline(values, width=width)))]
    present = [i for i, value in enumerate(values) if value is not None]
    step = (xs[-1] - xs[0]) / (present[-1] - present[0])
    assert xs == pytest.approx([xs[0] + (i - present[0]) * step for i in present], abs=0.01)
    assert xs[0] == pytest.approx(width - xs[-1])  # the same margin on both sides
    assert 0 < xs[0] < 5


@pytest.mark.parametrize(
    ("values", "low", "high", "height"),
    [
        ([0.2, 0.5, 0.9], None, None, 28),
        ([1.0, -0.2, 0.4, 0.1], None, None, 40),
        ([0.25, 0.75], 0.0, 1.0, 28),
        ([0.5, 1.5, -1.0], 0.0, 1.0, 28),
    ],
    ids=["rising", "crossing-zero", "explicit-range", "clamped-to-range"],
)
def test_sparkline_maps_low_to_the_bottom_margin_and_high_to_the_top(
    values: list[float], low: float | None, high: float | None, height: int
) -> None:
    (_, bottom), (_, top) = points(parse(sparkline([0, 1], height=height)))
    assert top == pytest.approx(height - bottom)
    assert 0 < top < height / 2
    lo, hi = (min(values) if low is None else low), (max(values) if high is None else high)
    expected = [top + (hi - min(max(v, lo), hi)) / (hi - lo) * (bottom - top) for v in values]
    ys = [y for _, y in points(parse(sparkline(values, low=low, high=high, height=height)))]
    assert ys == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    ("values", "height"),
    [([0.5, 0.5, 0.5], 28), ([0.3] * 12, 40), ([7.0, None, 7.0], 28)],
    ids=["three", "twelve-tall", "with-gap"],
)
def test_sparkline_draws_a_flat_series_at_mid_height(values: list[float], height: int) -> None:
    ys = [y for _, y in points(parse(sparkline(values, height=height)))]
    assert ys == [height / 2] * len(ys)


@pytest.mark.parametrize(
    ("values", "zero_lines"),
    [([1.0, 0.4, -0.5], 1), ([0.2, 0.9], 0), ([-0.2, -0.9], 0)],
    ids=["crossing", "positive", "negative"],
)
def test_sparkline_zero_line_only_when_zero_is_inside(values: list[float], zero_lines: int) -> None:
    root = parse(sparkline(values, height=28))
    zeros = elements(root, "line", "zero")
    assert len(zeros) == zero_lines
    if zeros:
        (_, top), (_, bottom) = points(parse(sparkline([1.0, -0.5])))
        expected = top + (1.0 - 0) / 1.5 * (bottom - top)
        assert float(zeros[0].get("y1", "nan")) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    "values",
    [[], [None, None], [NAN, math.inf, -math.inf]],
    ids=["empty", "all-none", "all-not-finite"],
)
def test_sparkline_without_values_says_no_data(values: list[float | None]) -> None:
    root = parse(sparkline(values, label="Budget left"))
    assert texts(root, "label") == ["no data"]
    assert elements(root, "path", "line") == []
    assert title(root) == "Budget left: no data"


@pytest.mark.parametrize(
    ("values", "state"),
    [
        ([1.0, 0.8, 0.6], "ok"),
        ([1.0, 0.2, 0.1], "warn"),
        ([1.0, 0.2, -0.4, None], "bad"),
        ([None, 0.3, NAN], "none"),
    ],
    ids=["ok", "warn", "bad-trailing-gap", "none-single"],
)
def test_sparkline_marks_the_last_value_with_the_state(
    values: list[float | None], state: str
) -> None:
    root = parse(sparkline(values, state=state))
    (dot,) = root.iter(f"{SVG}circle")
    assert classes(dot) == {state}
    assert (float(dot.get("cx", "nan")), float(dot.get("cy", "nan"))) == points(root)[-1]


def test_sparkline_rejects_an_unknown_state() -> None:
    with pytest.raises(ValueError, match="state"):
        sparkline([1.0], state='ok" onload="x')


@pytest.mark.parametrize(
    "label",
    ["Budget left over 30 days: from 100% to 41%", "a <b> & \"c\" 'd' </svg>", "plain"],
    ids=["words", "special-characters", "plain"],
)
def test_sparkline_title_carries_the_label_escaped(label: str) -> None:
    root = parse(sparkline([1.0, 0.41], label=label))
    assert title(root) == label
    assert root.get("aria-label") == label


# -- time_chart --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fraction",
    [0.5, 0.25, 0.9, 0.0],
    ids=["middle", "quarter", "near-end", "at-start"],
)
def test_time_chart_places_points_by_time(fraction: float) -> None:
    series = [(START, 0.99), (at(fraction), 0.995), (END, 0.999)]
    root = parse(time_chart(series, start=START, end=END))
    left, _, width, _ = plot_area(root)
    xs = [x for x, _ in points(root, "line-sli")]
    assert xs == pytest.approx([left, left + fraction * width, left + width], abs=0.01)


def test_time_chart_breaks_the_line_at_gaps_and_ignores_points_outside() -> None:
    series = [
        (START - timedelta(days=1), 0.5),
        (at(0.1), 0.99),
        (at(0.2), None),
        (at(0.3), 0.98),
        (at(0.4), NAN),
        (at(0.5), 0.97),
        (at(0.6), 0.96),
        (END + timedelta(hours=1), 0.1),
    ]
    root = parse(time_chart(series, start=START, end=END))
    assert [len(run) for run in segments(root, "line-sli")] == [1, 1, 2]
    assert "lowest 96.00%" in title(root)  # 0.5 and 0.1 fall outside the period


@pytest.mark.parametrize(
    ("values", "objective", "low", "high", "kind"),
    [
        ([0.99, 0.999, 1.0], 0.999, None, None, "sli"),
        ([0.9, 0.95, 0.97], 0.95, 0.8, 1.0, "sli"),
        ([1.0, 0.25, -0.4], 0.25, None, None, "budget"),
    ],
    ids=["default-range", "explicit-range", "budget-warn-line"],
)
def test_time_chart_objective_line_sits_where_the_objective_value_would(
    values: list[float], objective: float, low: float | None, high: float | None, kind: str
) -> None:
    series = [(at(i / 2), value) for i, value in enumerate(values)]
    svg = time_chart(
        series,
        start=START,
        end=END,
        objective=objective,
        objective_label="objective <99.9%>",
        low=low,
        high=high,
        kind=kind,
    )
    root = parse(svg)
    (line,) = elements(root, "line", "objective")
    on_objective = points(root, f"line-{kind}")[values.index(objective)]
    assert float(line.get("y1", "nan")) == float(line.get("y2", "nan")) == on_objective[1]
    assert "objective <99.9%>" in texts(root, "label")


def test_time_chart_objective_outside_an_explicit_range_is_not_drawn() -> None:
    series = [(START, 0.5), (END, 0.6)]
    root = parse(time_chart(series, start=START, end=END, objective=0.99, low=0.0, high=0.8))
    assert elements(root, "line", "objective") == []
    assert title(root).endswith("objective 99.00%")


@pytest.mark.parametrize(
    ("values", "zero_lines"),
    [([1.0, 0.3, -0.2], 1), ([1.0, 0.3, 0.1], 0)],
    ids=["overspent", "positive"],
)
def test_time_chart_zero_line_when_zero_is_in_range(values: list[float], zero_lines: int) -> None:
    series = [(at(i / 2), value) for i, value in enumerate(values)]
    root = parse(time_chart(series, start=START, end=END, kind="budget"))
    assert len(elements(root, "line", "zero")) == zero_lines


def test_time_chart_draws_only_the_markers_inside_the_period() -> None:
    markers = [
        Marker(START - timedelta(minutes=1), "deploy v40"),
        Marker(at(0.25), "deploy v41 <canary> & more"),
        Marker(END, "deploy v42"),
        Marker(END + timedelta(seconds=1), "deploy v43"),
    ]
    root = parse(time_chart([(START, 0.99)], start=START, end=END, markers=markers))
    left, _, width, _ = plot_area(root)
    drawn = [group for group in root.iter(f"{SVG}g") if elements(group, "line", "marker")]
    assert [group.findtext(f"{SVG}title") for group in drawn] == [
        "deploy v41 <canary> & more",
        "deploy v42",
    ]
    xs = [float(elements(group, "line", "marker")[0].get("x1", "nan")) for group in drawn]
    assert xs == pytest.approx([left + 0.25 * width, left + width], abs=0.01)


@pytest.mark.parametrize(
    ("values", "objective", "label", "percent", "markers", "expected"),
    [
        (
            [0.9991, 0.9912, 0.9995],
            0.999,
            "SLI over 30d",
            True,
            [],
            "SLI over 30d: latest 99.95%, lowest 99.12%; objective 99.90%",
        ),
        (
            [1.0, 0.41, -0.2, 0.1, None],
            None,
            "Budget left over 30d",
            True,
            [],
            "Budget left over 30d: latest 10.00%, lowest -20.00%",
        ),
        ([1.0, 14.4, 3.2], None, "Burn rate", False, [], "Burn rate: latest 3.20, lowest 1.00"),
        (
            [0.99, 0.98],
            0.95,
            "",
            True,
            ["deploy v42"],
            "latest 98.00%, lowest 98.00%; objective 95.00%; markers: deploy v42",
        ),
        (
            [0.5],
            None,
            'SLI "<model>" & co',
            True,
            [],
            'SLI "<model>" & co: latest 50.00%, lowest 50.00%',
        ),
    ],
    ids=["sli-with-objective", "budget-trailing-gap", "plain-numbers", "markers", "escaped"],
)
def test_time_chart_title_summarises_latest_and_lowest(
    values: list[float | None],
    objective: float | None,
    label: str,
    percent: bool,
    markers: list[str],
    expected: str,
) -> None:
    series = [(at(i / len(values)), value) for i, value in enumerate(values)]
    svg = time_chart(
        series,
        start=START,
        end=END,
        objective=objective,
        label=label,
        percent=percent,
        markers=[Marker(at(0.5), text) for text in markers],
    )
    root = parse(svg)
    assert title(root) == expected
    assert root.get("aria-label") == expected


@pytest.mark.parametrize(
    ("values", "objective", "percent", "pattern"),
    [
        ([0.9991, 0.9912, 0.9995], 0.999, True, r"-?\d+\.\d%"),
        ([0.9999, 1.0], 0.999, True, r"-?\d+\.\d{2,3}%"),
        ([1.0, -1.2], None, True, r"-?\d+%"),
        ([1.0, 1.0], None, True, r"\d+(\.\d+)?%"),
        ([1.0, 14.4], None, False, r"\d+"),
    ],
    ids=["sli-30d", "narrow", "overspent-budget", "flat", "plain"],
)
def test_time_chart_y_ticks_are_three_to_five_formatted_labels(
    values: list[float], objective: float | None, percent: bool, pattern: str
) -> None:
    series = [(at(i / 2), value) for i, value in enumerate(values)]
    svg = time_chart(series, start=START, end=END, objective=objective, percent=percent)
    labels = elements(parse(svg), "text", "y-tick")
    assert 3 <= len(labels) <= 5
    assert all(re.fullmatch(pattern, label.text or "") for label in labels)
    assert len({label.text for label in labels}) == len(labels)  # enough decimals to differ
    ys = [float(label.get("y", "nan")) for label in labels]
    numbers = [float((label.text or "").rstrip("%")) for label in labels]
    assert ys == sorted(ys, reverse=True)
    assert numbers == sorted(numbers)


@pytest.mark.parametrize(
    ("start", "span", "expected"),
    [
        (START, timedelta(days=30), ["Nov 1", "Dec 1"]),
        (START, timedelta(days=2), ["Nov 1", "Nov 3"]),
        (START + timedelta(hours=14), timedelta(hours=6), ["14:00", "20:00"]),
        (START + timedelta(hours=9, minutes=30), timedelta(days=1, hours=23), ["09:30", "08:30"]),
    ],
    ids=["month", "two-days", "six-hours", "just-under-two-days"],
)
def test_time_chart_labels_dates_or_hours(
    start: datetime, span: timedelta, expected: list[str]
) -> None:
    root = parse(time_chart([(start, 0.99)], start=start, end=start + span))
    assert texts(root, "x-tick") == expected


@pytest.mark.parametrize(
    "series",
    [
        [],
        [(START, None), (END, None)],
        [(START, NAN), (at(0.5), math.inf)],
        [(START - timedelta(days=1), 0.99), (END + timedelta(days=1), 0.99)],
    ],
    ids=["empty", "all-none", "not-finite", "all-outside"],
)
def test_time_chart_without_values_says_no_data(
    series: list[tuple[datetime, float | None]],
) -> None:
    root = parse(time_chart(series, start=START, end=END, label="SLI over 30d", objective=0.99))
    assert "no data for this period" in texts(root, "label")
    assert elements(root, "path", "line") == []
    assert plot_area(root)[2] > 0  # the frame is still drawn
    assert title(root) == "SLI over 30d: no data for this period"


def test_time_chart_rejects_an_empty_period() -> None:
    with pytest.raises(ValueError, match="after start"):
        time_chart([], start=END, end=START)


# -- budget_bar and state_of -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remaining", "width", "filled"),
    [
        (0.41, 120, 49.2),
        (1.0, 120, 120.0),
        (1.5, 120, 120.0),
        (0.0, 120, 0.0),
        (-0.3, 120, 0.0),
        (0.25, 200, 50.0),
    ],
    ids=["part", "full", "clamped-high", "empty", "clamped-negative", "wider"],
)
def test_budget_bar_fills_in_proportion_to_the_clamped_remaining(
    remaining: float, width: int, filled: float
) -> None:
    root = parse(budget_bar(remaining, warn=0.25, freeze=0.0, width=width))
    (bar,) = (rect for rect in root.iter(f"{SVG}rect") if classes(rect) & {"ok", "warn", "bad"})
    assert float(bar.get("width", "nan")) == pytest.approx(filled)


@pytest.mark.parametrize(
    ("remaining", "freeze", "state", "words"),
    [
        (0.5, 0.0, "ok", "50% of the error budget left (warn at 25%, freeze at 0%)"),
        (0.251, 0.0, "ok", "25% of the error budget left (warn at 25%, freeze at 0%)"),
        (0.25, 0.0, "warn", "25% of the error budget left (warn at 25%, freeze at 0%)"),
        (0.025, 0.0, "warn", "2.5% of the error budget left (warn at 25%, freeze at 0%)"),
        (0.0, 0.0, "bad", "0% of the error budget left (warn at 25%, freeze at 0%)"),
        (0.1, 0.1, "bad", "10% of the error budget left (warn at 25%, freeze at 10%)"),
        (-1.2, 0.0, "bad", "overspent: -120% of the error budget"),
    ],
    ids=["ok", "just-above-warn", "at-warn", "small", "at-freeze", "at-raised-freeze", "overspent"],
)
def test_budget_bar_states_and_words(
    remaining: float, freeze: float, state: str, words: str
) -> None:
    root = parse(budget_bar(remaining, warn=0.25, freeze=freeze))
    assert [rect for rect in root.iter(f"{SVG}rect") if state in classes(rect)] != []
    assert title(root) == root.get("aria-label") == words


@pytest.mark.parametrize("remaining", [None, NAN, math.inf], ids=["none", "nan", "inf"])
def test_budget_bar_without_data(remaining: float | None) -> None:
    root = parse(budget_bar(remaining, warn=0.25, freeze=0.0))
    assert title(root) == "no data"
    assert [classes(rect) for rect in root.iter(f"{SVG}rect")] == [{"area"}]


@pytest.mark.parametrize(
    ("warn", "freeze", "width", "ticks"),
    [(0.25, 0.0, 120, [30.0]), (0.5, 0.1, 200, [20.0, 100.0]), (0.25, 0.25, 120, [30.0])],
    ids=["warn-only", "warn-and-freeze", "same-threshold"],
)
def test_budget_bar_ticks_at_the_thresholds(
    warn: float, freeze: float, width: int, ticks: list[float]
) -> None:
    root = parse(budget_bar(0.7, warn=warn, freeze=freeze, width=width))
    lines = elements(root, "line", "axis")
    assert [float(line.get("x1", "nan")) for line in lines] == ticks


@pytest.mark.parametrize(
    ("remaining", "freeze", "expected"),
    [
        (0.8, 0.0, "ok"),
        (0.25, 0.0, "warn"),
        (0.1, 0.0, "warn"),
        (0.0, 0.0, "bad"),
        (-1.5, 0.0, "bad"),
        (0.1, 0.1, "bad"),
        (0.15, 0.1, "warn"),
        (None, 0.0, "none"),
        (NAN, 0.0, "none"),
    ],
    ids=[
        "ok",
        "at-warn",
        "below-warn",
        "at-freeze",
        "overspent",
        "at-raised-freeze",
        "between",
        "no-data",
        "nan",
    ],
)
def test_state_of(remaining: float | None, freeze: float, expected: str) -> None:
    assert state_of(remaining, warn=0.25, freeze=freeze) == expected
