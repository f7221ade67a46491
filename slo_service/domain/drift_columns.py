"""Drift data as typed columns: JSON columns or CSV text in, numeric or categorical columns out.

A feature is numeric or categorical. A reference's types are inferred (numbers are numeric,
strings categorical) unless declared; a batch's come from its reference, so that a string in a
numeric column is an error that names the feature and the row, not a silent new category. A
missing value is JSON ``null`` or an empty CSV cell and counts in the null rate; NaN and
infinities are refused, since no statistic can place them. Every problem of a payload is
reported at once, each under its feature (``columns.<feature>``), and nothing is kept of a
payload with a problem. Columns are converted with numpy, never value by value in Python,
except to find the row of an error.
"""

import csv
import io
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from slo_service.domain.series import Floats
from slo_service.errors import InvalidInput

MAX_FEATURES = 1000
FEATURE_NAME_MAX = 200
_NUMBERS = {int, float, type(None)}
_CATEGORIES = {str, int, float, bool, type(None)}


class FeatureType(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


@dataclass(frozen=True, eq=False)
class NumericColumn:
    values: Floats  # the non-null values, all finite
    nulls: int

    type = FeatureType.NUMERIC


@dataclass(frozen=True, eq=False)
class CategoricalColumn:
    values: list[str]  # the non-null values
    nulls: int

    type = FeatureType.CATEGORICAL


Column = NumericColumn | CategoricalColumn
Problem = tuple[tuple[str | int, ...], str]


def from_json(
    columns: Mapping[str, Sequence[Any]], types: Mapping[str, FeatureType]
) -> dict[str, Column]:
    """Typed columns from ``{"feature": [values...]}``; ``types`` declares some or all types."""
    problems = _shape_problems({name: len(values) for name, values in columns.items()})
    typed: dict[str, Column] = {}
    for name, values in columns.items():
        try:
            typed[name] = _json_column(name, values, types.get(name))
        except _Refused as exc:
            problems.append((("columns", name), str(exc)))
    if problems:
        raise InvalidInput(problems)
    return typed


def from_csv(text: str, types: Mapping[str, FeatureType]) -> dict[str, Column]:
    """Typed columns from CSV with a header row of feature names."""
    header, cells = _plain_cells(text) or _quoted_cells(text)
    rows = len(cells[0]) if cells else 0
    problems = _shape_problems(dict.fromkeys(header, rows))
    if len(set(header)) != len(header):
        twice = sorted({name for name in header if header.count(name) > 1})
        problems.append((("body",), f"the header names {', '.join(twice)} more than once"))
    if problems:
        raise InvalidInput(problems)
    typed: dict[str, Column] = {}
    for name, column in zip(header, cells, strict=True):
        try:
            typed[name] = _csv_column(column, types.get(name))
        except _Refused as exc:
            problems.append((("columns", name), str(exc)))
    if problems:
        raise InvalidInput(problems)
    return typed


def check_schema(columns: Mapping[str, Column], expected: Mapping[str, FeatureType]) -> None:
    """A batch has exactly its reference's features, each of the reference's type."""
    problems: list[Problem] = [
        (("columns", name), "is not a feature of the reference "
         f"(its features: {', '.join(sorted(expected))})")
        for name in columns
        if name not in expected
    ]  # fmt: skip
    problems += [
        (("columns", name), "is missing: the reference has this feature; send every one")
        for name in expected
        if name not in columns
    ]
    problems += [
        (("columns", name), f"is {column.type} here but {expected[name]} in the reference")
        for name, column in columns.items()
        if name in expected and column.type != expected[name]
    ]
    if problems:
        raise InvalidInput(problems)


def _plain_cells(text: str) -> tuple[list[str], list[Sequence[str]]] | None:
    """The header and the columns of CSV without quotes whose every line has the header's
    cells, split in a few passes over the whole text (four times faster than the csv
    module's row by row for a large batch); None for any other CSV."""
    text = text.replace("\r\n", "\n").rstrip("\n")
    if not text or '"' in text or "\r" in text:
        return None
    lines = text.split("\n")
    commas = lines[0].count(",")
    if set(map(operator.methodcaller("count", ","), lines)) != {commas}:
        return None  # ragged, or blank lines: the csv module says where
    header = [cell.strip() for cell in lines[0].split(",")]
    cells = ",".join(lines[1:]).split(",") if len(lines) > 1 else []
    return header, [cells[i :: commas + 1] for i in range(commas + 1)]


def _quoted_cells(text: str) -> tuple[list[str], list[Sequence[str]]]:
    """The header and the columns of any CSV, read by the csv module."""
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()  # a trailing blank line is no row
    if not rows:
        raise InvalidInput.at(("body",), "the CSV is empty: give a header row of feature names")
    header, body = [cell.strip() for cell in rows[0]], rows[1:]
    ragged = [(i + 2, len(row)) for i, row in enumerate(body) if len(row) != len(header)]
    if ragged:
        line, width = ragged[0]
        raise InvalidInput.at(
            ("body",),
            f"CSV line {line} has {width} cells, the header {len(header)} "
            f"({len(ragged)} such line(s))",
        )
    columns: list[Sequence[str]] = list(zip(*body, strict=True)) if body else []
    return header, columns or [() for _ in header]


class _Refused(ValueError):
    """A column that cannot be taken; the message says why (its feature is added by callers)."""


def _shape_problems(lengths: Mapping[str, int]) -> list[Problem]:
    """No features, too many, bad names, no rows, or columns of different lengths."""
    if not lengths:
        return [(("columns",), "no features: give at least one column")]
    problems: list[Problem] = []
    if len(lengths) > MAX_FEATURES:
        problems.append((("columns",), f"{len(lengths)} features; at most {MAX_FEATURES}"))
    for name in lengths:
        if not name.strip() or len(name) > FEATURE_NAME_MAX:
            problems.append(
                (("columns", name), f"a feature name is 1 to {FEATURE_NAME_MAX} characters")
            )
    rows = max(lengths.values())
    if rows == 0:
        problems.append((("columns",), "the data has no rows"))
    for name, length in lengths.items():
        if length != rows:
            problems.append((("columns", name), f"has {length} values, other features {rows}"))
    return problems


def _json_column(name: str, values: Sequence[Any], declared: FeatureType | None) -> Column:
    kinds = set(map(type, values))
    numeric = kinds <= _NUMBERS and kinds != {type(None)}
    if declared is FeatureType.NUMERIC or (declared is None and numeric):
        if not kinds <= _NUMBERS:
            row, value = _first(values, lambda v: type(v) not in _NUMBERS)
            raise _Refused(f"row {row}: {value!r} is not a number (the feature is numeric)")
        return _numeric(values)
    if declared is None and not kinds <= {str, type(None)}:
        raise _Refused(
            "mixes numbers and strings: declare its type in 'types' (numeric or categorical)"
        )
    nulls = values.count(None)
    if kinds <= {str, type(None)}:
        return CategoricalColumn([v for v in values if v is not None], nulls)
    if not kinds <= _CATEGORIES:
        row, value = _first(values, lambda v: type(v) not in _CATEGORIES)
        raise _Refused(f"row {row}: {value!r} is not a category: use strings, numbers or booleans")
    return CategoricalColumn([_category(v) for v in values if v is not None], nulls)


def _numeric(values: Sequence[Any]) -> NumericColumn:
    """Numbers and nulls (None) to an array of the finite values; NaN and inf are refused."""
    nulls = values.count(None)
    try:
        array = np.asarray(values, dtype=np.float64)
    except OverflowError:
        row, value = _first(values, lambda v: v is not None and not _fits(v))
        raise _Refused(f"row {row}: {value} is too large for a float") from None
    finite = np.isfinite(array)
    kept = array[finite]
    if len(values) - kept.size != nulls:
        row, value = _first(values, lambda v: isinstance(v, float) and not math.isfinite(v))
        raise _Refused(f"row {row}: {value} is not allowed; use null for a missing value")
    return NumericColumn(kept, nulls)


def _csv_column(cells: Sequence[str], declared: FeatureType | None) -> Column:
    if declared is not FeatureType.CATEGORICAL and "" not in cells:
        try:  # the common case first: every cell a number
            return _finite_csv(cells, np.fromiter(map(float, cells), np.float64, len(cells)), 0)
        except ValueError:
            pass
    present = [cell for cell in map(str.strip, cells) if cell]
    nulls = len(cells) - len(present)
    if declared is not FeatureType.CATEGORICAL:
        try:
            values = np.fromiter(map(float, present), np.float64, len(present))
        except ValueError:
            if declared is FeatureType.NUMERIC:
                row, cell = _first(cells, lambda c: c.strip() != "" and not _parses(c))
                raise _Refused(
                    f"row {row}: {cell!r} is not a number (the feature is numeric)"
                ) from None
        else:
            if present or declared is FeatureType.NUMERIC:
                return _finite_csv(cells, values, nulls)
    return CategoricalColumn(present, nulls)


def _finite_csv(cells: Sequence[str], values: Floats, nulls: int) -> NumericColumn:
    if not np.isfinite(values).all():
        row, cell = _first(cells, lambda c: c.strip() != "" and not _finite(c))
        raise _Refused(f"row {row}: {cell!r} is not allowed; leave a missing value empty")
    return NumericColumn(values, nulls)


def _category(value: str | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _first(values: Iterable[Any], bad: Any) -> tuple[int, Any]:
    """The first row (0-based, as in the column) whose value is ``bad``."""
    for row, value in enumerate(values):
        if bad(value):
            return row, value
    raise AssertionError("no bad value found")  # pragma: no cover - callers checked first


def _fits(value: Any) -> bool:
    try:
        float(value)
    except (OverflowError, TypeError, ValueError):
        return False
    return True


def _parses(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _finite(cell: str) -> bool:
    return math.isfinite(float(cell))
