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

import math
from collections import Counter
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from slo_service.domain import drift_csv
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
    columns: Mapping[str, Sequence[Any]],
    types: Mapping[str, FeatureType],
    *,
    consume: bool = False,
) -> dict[str, Column]:
    """Typed columns from ``{"feature": [values...]}``; ``types`` declares some or all types.
    With ``consume``, each list is deleted from ``columns`` (a dict then) once converted: a
    big body's Python values (32 bytes a number, against 8 in an array) are freed feature by
    feature rather than held until every feature is converted."""
    problems = _shape_problems({name: len(values) for name, values in columns.items()})
    if len(columns) > MAX_FEATURES:
        raise InvalidInput(problems)  # before any column is converted
    typed: dict[str, Column] = {}
    for name in list(columns):
        try:
            typed[name] = _json_column(name, columns[name], types.get(name))
        except _Refused as exc:
            problems.append((("columns", name), str(exc)))
        if consume:
            assert isinstance(columns, MutableMapping)
            del columns[name]
    if problems:
        raise InvalidInput(problems)
    return typed


def from_csv(text: str, types: Mapping[str, FeatureType]) -> dict[str, Column]:
    """Typed columns from CSV with a header row of feature names, read in blocks of rows
    (``domain.drift_csv``): what is kept of a block is its numbers, or its categories with
    each distinct one held once, never its cells."""
    try:
        return _typed_csv(text, types, quoted=False)
    except drift_csv.NotPlain:
        return _typed_csv(text, types, quoted=True)


def _typed_csv(text: str, types: Mapping[str, FeatureType], *, quoted: bool) -> dict[str, Column]:
    header, blocks = drift_csv.read(text, quoted=quoted)
    if len(set(header)) > MAX_FEATURES:  # before any row is read
        raise InvalidInput(_shape_problems(dict.fromkeys(header, 0)) + _twice(header))
    growing = [_Growing(types.get(name)) for name in header]
    rows = 0
    for block in blocks:
        for column, cells in zip(growing, block.columns, strict=True):
            column.add(cells, block.first)
        rows = block.first + block.rows
    problems = _shape_problems(dict.fromkeys(header, rows)) + _twice(header)
    if problems:
        raise InvalidInput(problems)
    mixed = {i: _Growing(FeatureType.CATEGORICAL) for i, c in enumerate(growing) if c.mixed}
    if mixed:
        _reread(text, quoted, mixed)
        growing = [mixed.get(i, column) for i, column in enumerate(growing)]
    typed: dict[str, Column] = {}
    for name, column in zip(header, growing, strict=True):
        try:
            typed[name] = column.column()
        except _Refused as exc:
            problems.append((("columns", name), str(exc)))
    if problems:
        raise InvalidInput(problems)
    return typed


class _Growing:
    """One CSV column read block by block, typed as ``_csv_column`` types a whole column: a
    feature of unknown type is numeric when all its values are finite numbers, categorical
    when one is not a number. Numbers are kept as arrays, categories as one string each."""

    def __init__(self, declared: FeatureType | None) -> None:
        self.declared = declared
        self.numbers: list[Floats] = []
        self.categories: list[str] = []
        self.distinct: dict[str, str] = {}
        self.nulls = 0
        self.categorical = declared is FeatureType.CATEGORICAL
        self.infinite: _Refused | None = None  # the first NaN or infinity
        self.wrong: _Refused | None = None  # the first cell of a numeric feature not a number

    @property
    def mixed(self) -> bool:
        """Categorical after blocks read as numbers, whose cells are gone: read it again."""
        return self.declared is None and self.categorical and bool(self.numbers or self.infinite)

    def add(self, cells: Sequence[str], first: int) -> None:
        if self.wrong or self.mixed:
            return  # its answer is known, or will come from reading it again
        try:
            part = _csv_column(cells, self.declared, first)
        except _NotFinite as exc:
            self.infinite = self.infinite or exc
            return
        except _Refused as exc:
            self.wrong = exc
            return
        self.nulls += part.nulls
        if isinstance(part, NumericColumn):
            self.numbers.append(part.values)
        elif part.values or self.categorical:
            self.categorical = True
            self.categories += map(self.distinct.setdefault, part.values, part.values)

    def column(self) -> Column:
        """The column; the refusal that ``_csv_column`` would give the whole column."""
        refusal = self.wrong or (None if self.categorical else self.infinite)
        if refusal is not None:
            raise refusal
        if self.categorical:
            return CategoricalColumn(self.categories, self.nulls)
        if self.numbers:
            return NumericColumn(np.concatenate(self.numbers), self.nulls)
        return CategoricalColumn([], self.nulls)  # only nulls, as a whole column reads


def _reread(text: str, quoted: bool, mixed: Mapping[int, _Growing]) -> None:
    """Read the mixed columns (by index) again, as the categorical columns they turned out
    to be; only their cells are kept, block by block."""
    _, blocks = drift_csv.read(text, quoted=quoted)
    for block in blocks:
        for index, growing in mixed.items():
            growing.add(block.columns[index], block.first)


def _twice(header: Sequence[str], shown: int = 10) -> list[Problem]:
    """The names the header holds more than once (the first ``shown``, sorted), counted in one
    pass: comparing each name with the whole header is quadratic in the columns."""
    twice = sorted(name for name, seen in Counter(header).items() if seen > 1)
    if not twice:
        return []
    names = ", ".join(twice[:shown])
    if len(twice) > shown:
        names = f"{len(twice):,} names, among them {names},"
    return [(("body",), f"the header names {names} more than once")]


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


class _Refused(ValueError):
    """A column that cannot be taken; the message says why (its feature is added by callers)."""


class _NotFinite(_Refused):
    """A NaN or an infinity: a numeric feature's cell that is no number is named first."""


def _shape_problems(lengths: Mapping[str, int]) -> list[Problem]:
    """No features, too many, bad names, no rows, or columns of different lengths."""
    if not lengths:
        return [(("columns",), "no features: give at least one column")]
    if len(lengths) > MAX_FEATURES:
        # Only this: a problem for each bad name or length would grow with the body.
        return [(("columns",), f"{len(lengths):,} features; at most {MAX_FEATURES:,}")]
    problems: list[Problem] = []
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


def _csv_column(cells: Sequence[str], declared: FeatureType | None, first: int = 0) -> Column:
    """A column's cells typed; ``first`` is the row of its first cell, for refusals."""
    if declared is not FeatureType.CATEGORICAL and "" not in cells:
        try:  # the common case first: every cell a number
            values = np.fromiter(map(float, cells), np.float64, len(cells))
            return _finite_csv(cells, values, 0, first)
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
                    f"row {first + row}: {cell!r} is not a number (the feature is numeric)"
                ) from None
        else:
            if present or declared is FeatureType.NUMERIC:
                return _finite_csv(cells, values, nulls, first)
    return CategoricalColumn(present, nulls)


def _finite_csv(cells: Sequence[str], values: Floats, nulls: int, first: int) -> NumericColumn:
    if not np.isfinite(values).all():
        row, cell = _first(cells, lambda c: c.strip() != "" and not _finite(c))
        raise _NotFinite(f"row {first + row}: {cell!r} is not allowed; leave a missing value empty")
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
