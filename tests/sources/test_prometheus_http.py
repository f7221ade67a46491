"""Decoding query_range answers: numbers read in bulk, anything unexpected an error."""

import json
import math
import random
import struct

import numpy as np
import pytest

from slo_service.sources.base import SourceError
from slo_service.sources.prometheus_http import decode_matrix, marks_of, plain_numbers


def answer(*series: tuple[dict[str, str], list[list[object]]]) -> bytes:
    result = [{"metric": labels, "values": values} for labels, values in series]
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(body, separators=(",", ":")).encode()


def test_series_labels_and_points() -> None:
    body = answer(
        ({"model_name": "a"}, [[1795000060, "1.5"], [1795000120, "NaN"], [1795000180.5, "+Inf"]]),
        ({"model_name": "b"}, [[1795000060, "-Inf"], [1795000120, "1e-05"]]),
    )
    (a_labels, a), (b_labels, b) = decode_matrix(body)
    assert (a_labels, b_labels) == ({"model_name": "a"}, {"model_name": "b"})
    assert a.shape == (3, 2)
    assert list(a[:, 0]) == [1795000060, 1795000120, 1795000180.5]
    assert a[0, 1] == 1.5
    assert math.isnan(a[1, 1])
    assert a[2, 1] == math.inf
    assert list(b[:, 1]) == [-math.inf, 1e-05]


def test_a_label_that_looks_like_values_is_left_alone() -> None:
    tricky = {"model_name": 'x","values":[[1,"2"]]', "note": "ends in \\"}
    (labels, points), (_, other) = decode_matrix(
        answer((tricky, [[60, "7"]]), ({"values": "y"}, [[120, "8"]]))
    )
    assert labels == tricky
    assert points.tolist() == [[60, 7]]
    assert other.tolist() == [[120, 8]]


def test_no_series_and_empty_values() -> None:
    assert decode_matrix(answer()) == []
    ((_, points),) = decode_matrix(answer(({}, [])))
    assert points.shape == (0, 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (answer(({}, [[60, "abc"]])), "something other than numbers"),
        (answer(({}, [[60, "1", 3]])), "3 numbers for 1 points"),
        (answer(({}, [[60, "1.2.3"]])), "unreadable values array"),
        (b'{"status":"error","error":"boom"}', "without success"),
        (
            b'{"status":"success","data":{"resultType":"vector","result":[]}}',
            "a vector, not a matrix",
        ),
        (answer(({}, [[60, "1"]]))[:-10], "ends inside a values array"),
    ],
    ids=["letters", "triple", "bad-number", "error", "vector", "truncated"],
)
def test_unexpected_answers_are_errors(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        decode_matrix(body)


def _read_by_numpy(values: list[str]) -> np.ndarray:
    """What the values read as with numpy's text parser alone (the reference)."""
    return np.fromstring(",".join(values).encode(), dtype=np.float64, sep=",")


@pytest.mark.parametrize(
    "values",
    [
        ["0", "1", "0.5", "48.00000000000001", "1e-05", "1e+06", "1E5", "-1.5"],
        ["-0", "0", "-0.0", "-0.5"],  # a negative zero keeps its sign
        ["123456789012345678901234567890", "18446744073709551616", "9007199254740993"],
        ["5e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "1e400"],
        ["NaN", "1", "+Inf", "-Inf"],
        ["0.1", "0.30000000000000004", "3.141592653589793238462643383279"],
        ["7"],
    ],
    ids=["plain", "negative-zero", "big-integers", "extremes", "nan-inf", "digits", "one"],
)
def test_values_read_bit_for_bit_as_numpy_reads_them(values: list[str]) -> None:
    stamps = [1795000060 + 60 * i for i in range(len(values))]
    ((_, points),) = decode_matrix(
        answer(({}, [[t, v] for t, v in zip(stamps, values, strict=True)]))
    )
    assert points[:, 0].tolist() == stamps
    expected = _read_by_numpy(values)
    assert points[:, 1].view(np.uint64).tolist() == expected.view(np.uint64).tolist()


def test_random_values_read_bit_for_bit_as_numpy_reads_them() -> None:
    rng = random.Random(17)
    values = []
    for _ in range(20_000):
        bits = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        x = bits if math.isfinite(bits) else rng.uniform(0, 1e6)
        shape = rng.choice(["r", ".17g", "f", ".25g", "int"])
        values.append(
            repr(x)
            if shape == "r"
            else str(rng.randrange(10**20))
            if shape == "int"
            else format(x, shape)
        )
    ((_, points),) = decode_matrix(answer(({}, [[60 * i, v] for i, v in enumerate(values)])))
    expected = _read_by_numpy(values)
    assert points[:, 1].view(np.uint64).tolist() == expected.view(np.uint64).tolist()


@pytest.mark.parametrize(
    ("array", "read"),
    [
        (b'[60,"1.5"],[120,"2"]', [60.0, 1.5, 120.0, 2.0]),
        (b'[60,"1e+06"]', [60.0, 1e6]),
        (b'[60,"-0"]', None),  # JSON's 0 has no sign: numpy reads it
        (b'[60,"-0.25"]', None),  # told apart from -0 by numpy too
        (b'[60,"1e400"]', None),  # JSON refuses an infinity
        (b'[60,""]', None),
        (b'[60,"1.2.3"]', None),
    ],
    ids=["plain", "exponent", "negative-zero", "negative-fraction", "overflow", "empty", "bad"],
)
def test_the_fast_reading_ofplain_numbers(array: bytes, read: list[float] | None) -> None:
    found = plain_numbers(array)
    assert (found if found is None else found.tolist()) == read


def _values_array(points: list[tuple[float, str]]) -> bytes:
    return json.dumps([[t, v] for t, v in points], separators=(",", ":")).encode()[1:-1]


def _placed_one_by_one(array: bytes, first: int, step: int, count: int) -> np.ndarray:
    """The reference: every point read with its time and put at its mark."""
    ((_, points),) = decode_matrix(answer(({}, json.loads(b"[" + array + b"]"))))
    values = np.full(count, np.nan)
    at = np.rint((points[:, 0] - first) / step).astype(np.int64)
    inside = (at >= 0) & (at < count)
    values[at[inside]] = points[inside, 1]
    return values


T = 1_796_313_660


@pytest.mark.parametrize(
    ("points", "count"),
    [
        ([(T + 60 * i, str(0.1 * i)) for i in range(5)], 5),  # dense
        ([(T, "7")], 1),  # one point, one mark
        ([(T + 60 * i, "1") for i in (0, 1, 3, 4)], 5),  # a missing step
        ([(T + 60 * i, "1") for i in (1, 2, 3, 4)], 5),  # the first mark missing
        ([(T + 60 * i, "1") for i in (0, 1, 2, 3)], 5),  # the last mark missing
        ([(T + 60 * i, "1") for i in (0, 2, 4)], 3),  # as many points as marks, wrong times
        ([(T + 60 * i, v) for i, v in enumerate(["1", "NaN", "+Inf", "-Inf", "2"])], 5),
        ([(T + 60 * i, v) for i, v in enumerate(["-0", "0", "-0.5"])], 3),  # zero's sign kept
        ([(T - 60, "9"), *((T + 60 * i, "1") for i in range(3)), (T + 180, "9")], 3),  # outside
        ([(T + 60 * i, "1e+06") for i in range(3)], 3),
        ([], 4),  # no point at all
    ],
    ids=[
        "dense", "one", "gap", "first-missing", "last-missing", "off-marks", "nan-inf",
        "negative-zero", "outside", "exponent", "empty",
    ],
)  # fmt: skip
def test_marks_equal_the_points_placed_one_by_one(
    points: list[tuple[float, str]], count: int
) -> None:
    array = _values_array(points)
    found = marks_of(array, first=T, step=60, count=count)
    expected = _placed_one_by_one(array, T, 60, count)
    assert found.view(np.uint64).tolist() == expected.view(np.uint64).tolist()


@pytest.mark.parametrize(
    ("array", "message"),
    [(b'[1796313660,"abc"]', "something other than numbers"), (b'[1796313660,"1",3]', "3 numbers")],
    ids=["letters", "triple"],
)
def test_marks_of_an_unusable_array_are_errors(array: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        marks_of(array, first=T, step=60, count=1)
