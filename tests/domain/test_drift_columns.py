"""Drift data parsing (``domain.drift_columns``), by table: JSON columns and CSV text to typed
columns, and every refusal naming its feature."""

import tracemalloc

import numpy as np
import pytest

from slo_service.domain import drift_csv
from slo_service.domain.drift_columns import (
    CategoricalColumn,
    Column,
    FeatureType,
    NumericColumn,
    check_schema,
    from_csv,
    from_json,
)
from slo_service.errors import InvalidInput

NUM, CAT = FeatureType.NUMERIC, FeatureType.CATEGORICAL


def shape(columns: dict[str, Column]) -> dict[str, tuple[str, list[object], int]]:
    """Each column as (type, values, nulls), comparable with ==."""
    return {
        name: (column.type.value, [*np.asarray(column.values).tolist()], column.nulls)
        for name, column in columns.items()
    }


PLAIN = "age,country,score\n31,de,0.5\n,fr,1e-3\n45.5,,2\n"
SAME = {
    "age": ("numeric", [31.0, 45.5], 1),
    "country": ("categorical", ["de", "fr"], 1),
    "score": ("numeric", [0.5, 0.001, 2.0], 0),
}


@pytest.mark.parametrize(
    "text",
    [
        PLAIN,
        PLAIN.replace("\n", "\r\n"),
        PLAIN + "\n\n",
        'age,"country",score\n31,"de",0.5\n,fr,1e-3\n45.5,"",2\n',  # quoted: the csv module
        PLAIN.replace("age", " age "),  # header cells are stripped
        PLAIN.replace(",de,", ", de ,"),
    ],
    ids=["plain", "crlf", "trailing-blank-lines", "quoted", "spaced-header", "spaced-cell"],
)
def test_csv_forms_read_alike(text: str) -> None:
    assert shape(from_csv(text, {})) == SAME


@pytest.mark.parametrize(
    ("columns", "types", "expected"),
    [
        ({"a": [1, 2.5, None]}, {}, {"a": ("numeric", [1.0, 2.5], 1)}),
        ({"a": ["x", None, "y"]}, {}, {"a": ("categorical", ["x", "y"], 1)}),
        ({"a": [1, "x"]}, {"a": CAT}, {"a": ("categorical", ["1", "x"], 0)}),
        ({"a": [True, False]}, {"a": CAT}, {"a": ("categorical", ["true", "false"], 0)}),
        ({"a": [None, None]}, {"a": NUM}, {"a": ("numeric", [], 2)}),
        ({"a": [10**20]}, {}, {"a": ("numeric", [1e20], 0)}),
    ],
    ids=["numbers-and-null", "strings", "declared-categorical", "booleans", "all-null", "big-int"],
)
def test_json_columns(
    columns: dict[str, list[object]],
    types: dict[str, FeatureType],
    expected: dict[str, tuple[str, list[object], int]],
) -> None:
    assert shape(from_json(columns, types)) == expected


@pytest.mark.parametrize(
    ("columns", "types", "problem"),
    [
        ({"a": [1.0, float("nan")]}, {}, ("a", "row 1: nan is not allowed")),
        ({"a": [float("inf")]}, {}, ("a", "row 0: inf is not allowed")),
        ({"a": [1, "x"]}, {}, ("a", "mixes numbers and strings")),
        ({"a": [1, "x"]}, {"a": NUM}, ("a", "row 1: 'x' is not a number")),
        ({"a": [1, [2]]}, {"a": CAT}, ("a", "row 1: [2] is not a category")),
        ({"a": [10**400]}, {}, ("a", "row 0: " + str(10**400) + " is too large")),
        ({"a": [1], "b": [1, 2]}, {}, ("a", "has 1 values, other features 2")),
        ({"": [1]}, {}, ("", "a feature name is 1 to 200 characters")),
    ],
    ids=["nan", "inf", "mixed", "string-in-numeric", "list", "too-large", "ragged", "no-name"],
)
def test_json_refusals_name_the_feature(
    columns: dict[str, list[object]], types: dict[str, FeatureType], problem: tuple[str, str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        from_json(columns, types)
    feature, reason = problem
    assert any(
        loc == ("columns", feature) and msg.startswith(reason) for loc, msg in caught.value.problems
    ), caught.value.problems


@pytest.mark.parametrize(
    ("text", "types", "loc", "reason"),
    [
        ("", {}, ("body",), "the CSV is empty"),
        ("a,b\n", {}, ("columns",), "the data has no rows"),
        ("a,b\n1,2\n3\n", {}, ("body",), "CSV line 3 has 1 cells, the header 2"),
        ("a,a\n1,2\n", {}, ("body",), "the header names a more than once"),
        ("a\n1\nnan\n", {}, ("columns", "a"), "row 1: 'nan' is not allowed"),
        ("a\n1\nx\n", {"a": NUM}, ("columns", "a"), "row 1: 'x' is not a number"),
        ("a,b\n1,2\n\n3,4\n", {}, ("body",), "CSV line 3 has 0 cells"),
    ],
    ids=["empty", "header-only", "ragged", "twice", "nan", "string-in-numeric", "blank-line"],
)
def test_csv_refusals(
    text: str, types: dict[str, FeatureType], loc: tuple[str, ...], reason: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        from_csv(text, types)
    assert any(at == loc and m.startswith(reason) for at, m in caught.value.problems), (
        caught.value.problems
    )


def test_a_header_of_100k_columns_named_twice_is_refused_in_one_pass() -> None:
    """Each name was counted over the whole header (100k columns: minutes of CPU); now they
    are counted once, and the answer names a few of them, not all 50,000."""
    names = [f"c{i}" for i in range(50_000)] * 2
    text = ",".join(names) + "\n" + ",".join("1" for _ in names) + "\n"
    with pytest.raises(InvalidInput) as caught:
        from_csv(text, {})
    assert caught.value.problems == [
        (("columns",), "50,000 features; at most 1,000"),
        (("body",), "the header names 50,000 names, among them c0, c1, c10, c100, c1000, "
         "c10000, c10001, c10002, c10003, c10004, more than once"),
    ]  # fmt: skip


def test_a_json_body_of_too_many_features_is_refused_before_any_column_is_read() -> None:
    """Only the count is reported (not each bad name or length): the answer stays small."""
    columns: dict[str, list[object]] = {"x" * 300 + str(i): [i] * (i % 3) for i in range(5000)}
    with pytest.raises(InvalidInput) as caught:
        from_json(columns, {})
    assert caught.value.problems == [(("columns",), "5,000 features; at most 1,000")]


def read_csv(text: str, types: dict[str, FeatureType]) -> object:
    """What ``from_csv`` answers: the columns' shape, or the problems it refuses with."""
    try:
        return shape(from_csv(text, types))
    except InvalidInput as refused:
        return refused.problems


def rows(count: int = 40, **a_at: str) -> str:
    """``count`` CSV rows of a number, a category and a number or null; ``a_at`` puts other
    cells in the first column (``r7="inf"``: row 7)."""
    cells = [a_at.get(f"r{i}", f"{i}.5") for i in range(count)]
    return "".join(f"{a},c{i % 3},{i if i % 4 else ''}\n" for i, a in enumerate(cells))


@pytest.mark.parametrize(
    ("text", "types"),
    [
        ("a,b,c\n" + rows(), {}),
        ("a,b,c\n" + rows(r38="x"), {}),
        ("a,b,c\n" + rows(r7="inf", r38="x"), {}),
        ("a,b,c\n" + rows(r2="x", r38="inf"), {}),
        ("a,b,c\n" + rows(r27="inf"), {}),
        ("a,b,c\n" + rows(r3="inf", r30="x"), {"a": NUM}),
        ("a,b,c\n" + rows(r30="x"), {"a": NUM, "b": CAT}),
        ("a,b,c\n" + rows() + "1,2\n" + rows() + "1\n", {}),
        ('a,"b",c\n' + rows() + "\n,,\n" + rows() + "\n\n\n\n", {}),
        ("a,b,c\n" + ",,\n" * 20 + rows(), {}),
        ("c\n" + "\n".join(str(i % 5 or "") for i in range(50)), {}),
        ("c\n" + "1\n" * 30 + "\n" * 5 + "2\n", {"c": NUM}),
    ],
    ids=[
        "numbers-categories-nulls",
        "numbers-then-a-string-late",
        "infinite-then-a-string-late",
        "a-string-then-infinite-late",
        "infinite-late",
        "infinite-then-not-a-number",
        "not-a-number-late",
        "ragged-late",
        "quoted-blank-rows-inside-and-trailing",
        "null-rows-first",
        "one-column-with-blank-lines",
        "one-numeric-column-with-blank-lines",
    ],
)
def test_csv_read_in_blocks_reads_as_a_whole(
    text: str, types: dict[str, FeatureType], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of a few rows (where a column's type or first problem shows only in a later
    block) answer what one block of the whole text does."""
    whole = read_csv(text, types)
    monkeypatch.setattr(drift_csv, "BLOCK_CHARS", 16)
    monkeypatch.setattr(drift_csv, "BLOCK_CELLS", 6)
    assert read_csv(text, types) == whole


def test_csv_blocks_keep_numbers_and_each_category_once() -> None:
    """What parsing a CSV holds does not grow with its cells' strings: a million rows of a
    number and a repeated category take under 32 bytes a value at the peak (8 are kept),
    where holding every cell as a string took over 100 (now one block's cells at a time)."""
    text = "a,b\n" + "12.5,de\n" * 1_000_000
    tracemalloc.start()
    try:
        columns = from_csv(text, {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert shape(columns)["a"][2] == 0
    assert len(columns["b"].values) == 1_000_000
    assert len({id(value) for value in columns["b"].values}) == 1
    assert peak < 32 * 2_000_000, f"{peak:,} bytes"


def test_a_csv_column_of_numbers_declared_categorical_stays_text() -> None:
    columns = from_csv("zip\n10115\n01067\n", {"zip": CAT})
    assert isinstance(columns["zip"], CategoricalColumn)
    assert columns["zip"].values == ["10115", "01067"]


def test_schema_check_lists_every_difference() -> None:
    columns: dict[str, Column] = {
        "age": CategoricalColumn(["x"], 0),
        "height": NumericColumn(np.array([1.0]), 0),
    }
    with pytest.raises(InvalidInput) as caught:
        check_schema(columns, {"age": NUM, "income": NUM})
    assert sorted(caught.value.problems) == [
        (("columns", "age"), "is categorical here but numeric in the reference"),
        (("columns", "height"), "is not a feature of the reference (its features: age, income)"),
        (("columns", "income"), "is missing: the reference has this feature; send every one"),
    ]
