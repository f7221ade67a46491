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


def test_counts_shift_to_bucket_starts_and_drop_nan() -> None:
    assert plan.counts_per_bucket({120: 5.0, 180: float("nan")}, 60) == {60: 5.0}


@pytest.mark.parametrize(
    ("total", "counted", "is_good", "expected"),
    [
        ({0: 10.0}, {0: 9.0}, True, [(0, Counts(9.0, 10.0))]),
        ({0: 10.0}, {0: 1.0}, False, [(0, Counts(9.0, 10.0))]),
        ({0: 10.0}, {}, True, [(0, Counts(0.0, 10.0))]),
        ({0: 10.0}, {0: 10.4}, True, [(0, Counts(10.0, 10.0))]),
        ({}, {0: 3.0}, True, []),
    ],
    ids=["good", "bad", "no-good-series", "extrapolated-over", "no-total"],
)
def test_ratio_values(
    total: dict[int, float], counted: dict[int, float], is_good: bool, expected: list[object]
) -> None:
    assert plan.ratio_values(total, counted, counted_is_good=is_good) == expected


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
    samples = {60: 0.9, 180: 0.5}  # nothing at the mark 120
    values = plan.slice_values(
        samples, op=">=", threshold=0.85, no_data=no_data, start=0, end=180, bucket=60
    )
    assert values == expected
