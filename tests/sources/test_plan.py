import numpy as np
import pytest

from slo_service.domain.budget import Counts
from slo_service.sources import plan
from slo_service.sources.base import NoData


@pytest.mark.parametrize(
    ("selector", "extra", "alone", "group", "model"),
    [
        (
            'ml_predictions_total{model_name="churn",status!~"error"}',
            (),
            'sum(increase(ml_predictions_total{model_name="churn",status!~"error"}[60s]))',
            "sum by (model_name) "
            '(increase(ml_predictions_total{status!~"error",model_name=~"M"}[60s]))',
            "churn",
        ),
        (
            'h_bucket{model_name="fraud"}',
            ('le="0.5"',),
            'sum(increase(h_bucket{model_name="fraud",le="0.5"}[60s]))',
            'sum by (model_name) (increase(h_bucket{model_name=~"M",le="0.5"}[60s]))',
            "fraud",
        ),
        ('up_total{code="200"}', (), 'sum(increase(up_total{code="200"}[60s]))', None, None),
        ('x{model_name=~"a|b"}', (), 'sum(increase(x{model_name=~"a|b"}[60s]))', None, None),
    ],
    ids=["template", "histogram-le", "no-model", "model-regex"],
)  # fmt: skip
def test_increase_needs(
    selector: str, extra: tuple[str, ...], alone: str, group: str | None, model: str | None
) -> None:
    need = plan.increase(selector, 60, *extra)
    assert need.alone == alone
    assert (need.group and plan.render_group(need.group, {"M"})) == group
    assert need.model == model


@pytest.mark.parametrize(
    ("query", "group", "model"),
    [
        ('min(ml_model_accuracy{model_name="churn"})',
         'min by (model_name) (ml_model_accuracy{model_name=~"M"})', "churn"),
        ('time() - max(ts{model_name="a",env="prod"})',
         'time() - max by (model_name) (ts{env="prod",model_name=~"M"})', "a"),
        ('avg(rate(x{model_name="a"}[5m]))', None, None),
        ("max(up)", None, None),
    ],
    ids=["accuracy", "freshness", "other-shape", "no-model"],
)  # fmt: skip
def test_instant_needs(query: str, group: str | None, model: str | None) -> None:
    need = plan.instant(query)
    assert need.alone == query
    assert (need.group and plan.render_group(need.group, {"M"})) == group
    assert need.model == model


def test_group_alternation_escapes_regex_and_string() -> None:
    need = plan.increase('x{model_name="churn.v2"}', 60)
    assert need.group is not None
    rendered = plan.render_group(need.group, {"churn.v2", "fraud", 'we"ird'})
    assert rendered == (
        'sum by (model_name) (increase(x{model_name=~"churn\\\\.v2|fraud|we\\"ird"}[60s]))'
    )


NAN = float("nan")


@pytest.mark.parametrize(
    ("total", "counted", "is_good", "expected"),
    [
        ([10.0], [9.0], True, [(0, Counts(9.0, 10.0))]),
        ([10.0], [1.0], False, [(0, Counts(9.0, 10.0))]),
        ([10.0], [NAN], True, [(0, Counts(0.0, 10.0))]),
        ([10.0], [NAN], False, [(0, Counts(10.0, 10.0))]),
        ([10.0], [10.4], True, [(0, Counts(10.0, 10.0))]),
        ([10.0], [10.4], False, [(0, Counts(0.0, 10.0))]),
        ([NAN, 5.0], [3.0, 1.0], True, [(60, Counts(1.0, 5.0))]),
    ],
    ids=["good", "bad", "no-good-series", "no-bad-series", "extrapolated-over",
         "bad-over-total", "no-total"],
)  # fmt: skip
def test_ratio(total: list[float], counted: list[float], is_good: bool, expected: object) -> None:
    got = plan.ratio(
        np.array(total), np.array(counted), counted_is_good=is_good, start=0, bucket=60
    )
    assert got.items() == expected


@pytest.mark.parametrize(
    ("no_data", "expected"),
    [
        ("ignore", [(0, Counts(1, 1)), (120, Counts(0, 1))]),
        ("good", [(0, Counts(1, 1)), (60, Counts(1, 1)), (120, Counts(0, 1))]),
        ("bad", [(0, Counts(1, 1)), (60, Counts(0, 1)), (120, Counts(0, 1))]),
    ],
    ids=["ignore", "good", "bad"],
)
def test_slices_follow_the_no_data_policy(no_data: NoData, expected: list[object]) -> None:
    values = np.array([0.9, NAN, 0.5])  # at the marks 60, 120, 180: nothing at 120
    got = plan.slices(values, op=">=", threshold=0.85, no_data=no_data, start=0, bucket=60)
    assert got.items() == expected


@pytest.mark.parametrize(
    ("op", "expected"),
    [("<", [1, 0, 0]), ("<=", [1, 1, 0]), (">", [0, 0, 1]), (">=", [0, 1, 1]),
     ("==", [0, 1, 0]), ("!=", [1, 0, 1])],
)  # fmt: skip
def test_slice_operators(op: str, expected: list[int]) -> None:
    got = plan.slices(
        np.array([1.0, 2.0, 3.0]), op=op, threshold=2.0, no_data="ignore", start=0, bucket=60
    )
    assert list(got.good) == expected
    assert list(got.total) == [1, 1, 1]
