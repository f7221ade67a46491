"""Decoding query_range answers: numbers read in bulk, anything unexpected an error."""

import json
import math

import pytest

from slo_service.sources.base import SourceError
from slo_service.sources.prometheus_http import decode_matrix


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
