"""Every metric against scikit-learn's on the same rows: its value, or None with a reason exactly
where sklearn warns that the metric is undefined (and, for an empty window, raises)."""

import functools
import json
import operator
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pytest
from sklearn import metrics as sk  # type: ignore[import-untyped]
from sklearn.exceptions import UndefinedMetricWarning  # type: ignore[import-untyped]

from slo_service.domain.performance import (
    CLASSIFICATION_METRICS,
    EMPTY,
    METRICS,
    NEVER_PREDICTED,
    NO_POSITIVE_LABELS,
    NO_POSITIVES,
    NO_PREDICTED_POSITIVES,
    NO_SCORES,
    NOT_A_LABEL,
    ONE_CLASS,
    REGRESSION_METRICS,
    ClassificationTally,
    Metric,
    MetricName,
    Metrics,
    RegressionTally,
    Strs,
    classification_metrics,
    classification_tally,
    classification_windows,
    regression_metrics,
    regression_tally,
    regression_windows,
    window_starts,
)
from slo_service.domain.series import Floats

RNG = np.random.default_rng(20261203)


class Case(NamedTuple):
    """Labeled predictions and the metrics sklearn leaves undefined on them, with our reason."""

    true: Sequence[str]
    predicted: Sequence[str]
    undefined: dict[MetricName, str]
    positive: str | None = None
    scores: Floats | None = None
    score_classes: list[str] | None = None

    def metrics(self) -> Metrics:
        return classification_metrics(
            self.true,
            self.predicted,
            positive=self.positive,
            scores=self.scores,
            score_classes=self.score_classes,
        )


def draw(
    classes: Sequence[str], n: int, weights: Sequence[float] | None = None
) -> tuple[Strs, Strs]:
    """``n`` labels and predictions, about 60% of the predictions right."""
    true = RNG.choice(np.array(classes), n, p=weights)
    predicted = np.where(RNG.random(n) < 0.6, true, RNG.choice(np.array(classes), n))
    return true, predicted


def score(true: Strs, positive: str) -> Floats:
    """P(positive), informative but noisy; clipped, so some are exactly 0 or 1."""
    noisy = 0.5 + 0.3 * (true == positive) + RNG.normal(0, 0.3, true.size)
    clipped: Floats = np.clip(noisy, 0.0, 1.0)
    return clipped


def proba(n: int, k: int) -> Floats:
    rows: Floats = RNG.dirichlet(np.ones(k), n)
    return rows


def binary_case(n: int = 60) -> Case:
    true, predicted = draw(["ham", "spam"], n)
    return Case(true.tolist(), predicted.tolist(), {}, "spam", score(true, "spam"))


def with_gaps(scores: Floats, share: float) -> Floats:
    """``scores`` with about ``share`` of the rows unscored (NaN)."""
    gaps = np.asarray(RNG.random(scores.shape[0]) < share)
    return np.where(gaps[:, None] if scores.ndim == 2 else gaps, np.nan, scores)


three, three_predicted = draw(["bird", "cat", "dog"], 80)
abc, abc_predicted = draw(["a", "b", "c"], 70)
four, four_predicted = draw(["ant", "bee", "cow", "dog"], 90)
half = ["ham", "spam"] * 10
tied_rows = np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [1 / 3] * 3, [1.0, 0.0, 0.0]])
digits, digits_predicted = draw(["1", "2", "10"], 60)
never_c = np.where(abc_predicted == "c", "a", abc_predicted)
gapped = binary_case()
assert gapped.scores is not None

CASES = {
    "binary": binary_case(),
    "binary-of-three-classes": Case(
        three.tolist(), three_predicted.tolist(), {}, "cat", score(three, "cat")
    ),
    "multiclass-3": Case(
        abc.tolist(), abc_predicted.tolist(), {}, None, proba(70, 3), ["a", "b", "c"]
    ),
    "multiclass-4-unsorted-columns": Case(
        four.tolist(), four_predicted.tolist(), {}, None, proba(90, 4), ["dog", "ant", "cow", "bee"]
    ),
    "binary-tied-scores": Case(
        half, half[::-1], {}, "spam", RNG.choice([0.0, 0.2, 0.5, 0.5, 1.0], 20)
    ),
    "multiclass-tied-scores": Case(
        abc.tolist(),
        abc_predicted.tolist(),
        {},
        None,
        tied_rows[RNG.integers(0, 4, 70)],
        ["a", "b", "c"],
    ),
    "binary-labels-all-negative": Case(
        ["ham"] * 20, half, {"recall": NO_POSITIVE_LABELS, "auc": ONE_CLASS}, "spam", RNG.random(20)
    ),
    "binary-labels-all-positive": Case(
        ["spam"] * 20, half, {"auc": ONE_CLASS}, "spam", RNG.random(20)
    ),
    "multiclass-labels-one-class": Case(
        ["a"] * 20,
        ["a", "b"] * 10,
        {"recall": NOT_A_LABEL.format("b"), "auc": ONE_CLASS},
        None,
        proba(20, 3),
        ["a", "b", "c"],
    ),
    "no-predicted-positives": Case(
        half, ["ham"] * 20, {"precision": NO_PREDICTED_POSITIVES}, "spam", RNG.random(20)
    ),
    "no-positives-at-all": Case(
        ["ham"] * 20,
        ["ham"] * 20,
        {
            "precision": NO_PREDICTED_POSITIVES,
            "recall": NO_POSITIVE_LABELS,
            "f1": NO_POSITIVES,
            "auc": ONE_CLASS,
        },
        "spam",
        RNG.random(20),
    ),
    "class-never-predicted": Case(
        abc.tolist(),
        never_c.tolist(),
        {"precision": NEVER_PREDICTED.format("c")},
        None,
        proba(70, 3),
        ["a", "b", "c"],
    ),
    "class-predicted-not-labeled": Case(
        abc.tolist(),
        np.where(np.arange(70) % 7 == 0, "d", abc_predicted).tolist(),
        {"recall": NOT_A_LABEL.format("d"), "auc": NOT_A_LABEL.format("d")},
        None,
        proba(70, 4),
        ["a", "b", "c", "d"],
    ),
    "integer-like-binary": Case(
        [str(int(x)) for x in RNG.integers(0, 2, 40)],
        [str(int(x)) for x in RNG.integers(0, 2, 40)],
        {},
        "1",
        RNG.random(40),
    ),
    "integer-like-multiclass": Case(
        digits.tolist(), digits_predicted.tolist(), {}, None, proba(60, 3), ["1", "2", "10"]
    ),
    "unscored-rows": gapped._replace(scores=with_gaps(gapped.scores, 0.3)),
    "unscored-matrix-rows": Case(
        abc.tolist(),
        abc_predicted.tolist(),
        {},
        None,
        with_gaps(proba(70, 3), 0.3),
        ["a", "b", "c"],
    ),
    "no-scores": gapped._replace(scores=None, undefined={"auc": NO_SCORES, "log_loss": NO_SCORES}),
    "no-scored-rows": gapped._replace(
        scores=np.full(60, np.nan), undefined={"auc": NO_SCORES, "log_loss": NO_SCORES}
    ),
    "empty-binary": Case([], [], dict.fromkeys(CLASSIFICATION_METRICS, EMPTY), "spam", np.zeros(0)),
    "empty-multiclass": Case(
        [],
        [],
        dict.fromkeys(CLASSIFICATION_METRICS, EMPTY),
        None,
        np.zeros((0, 3)),
        ["a", "b", "c"],
    ),
}


def sklearn_call(case: Case, name: MetricName) -> Callable[[], Any] | None:
    """sklearn's computation of ``name`` on the case's rows; None if it has no scored row."""
    true, predicted, positive = (
        np.array(case.true, str),
        np.array(case.predicted, str),
        case.positive,
    )
    if name == "accuracy":
        return lambda: sk.accuracy_score(true, predicted)
    if name in ("precision", "recall", "f1"):
        function = {"precision": sk.precision_score, "recall": sk.recall_score, "f1": sk.f1_score}
        if positive is None:
            return lambda: function[name](true, predicted, average="macro")
        return lambda: function[name](true == positive, predicted == positive, pos_label=True)
    if case.scores is None:
        return None
    missing = np.isnan(case.scores)
    scored = ~(missing.any(axis=1) if missing.ndim == 2 else missing)
    if true.size and not scored.any():
        return None
    true, scores = true[scored], case.scores[scored]
    if positive is not None:
        if name == "auc":
            return lambda: sk.roc_auc_score(true == positive, scores)
        return lambda: sk.log_loss(true == positive, scores, labels=[False, True])
    assert case.score_classes is not None
    labels = sorted(case.score_classes)
    scores = scores[:, np.argsort(case.score_classes)]
    if name == "auc":
        return lambda: sk.roc_auc_score(true, scores, multi_class="ovr", labels=labels)
    return lambda: sk.log_loss(true, scores, labels=labels)


def sklearn_value(case: Case, name: MetricName) -> float | None:
    """sklearn's value, or None where it warns that the metric is undefined, where it raises for
    an empty window, or where there is no scored row."""
    call = sklearn_call(case, name)
    if call is None:
        return None
    if not case.true:
        with pytest.raises(ValueError, match=r"empty|0 sample"):
            call()
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(call())
    if any(issubclass(warning.category, UndefinedMetricWarning) for warning in caught):
        return None
    assert not np.isnan(value)
    return value


def assert_matches(ours: Metrics, case: Case, names: Sequence[MetricName]) -> None:
    expected = {name: sklearn_value(case, name) for name in names}
    # Which metrics sklearn leaves undefined is what the table row says.
    assert {name for name, value in expected.items() if value is None} == set(case.undefined)
    for name in names:
        if name in case.undefined:
            assert ours[name] == Metric(None, case.undefined[name]), name
        else:
            assert ours[name].reason is None, name
            assert ours[name].value == pytest.approx(expected[name], rel=1e-12), name


def scoring_of(scoring: dict[str, Any], rows: slice | npt.NDArray[np.int64]) -> dict[str, Any]:
    return {**scoring, "scores": scoring["scores"][rows]}


def assert_same(ours: Metrics, theirs: Metrics) -> None:
    """The same metrics, undefined for the same reasons, with values equal up to rounding."""
    assert list(ours) == list(theirs)
    for name, metric in ours.items():
        assert metric.reason == theirs[name].reason, name
        expected = theirs[name].value
        assert metric.value == (None if expected is None else pytest.approx(expected, rel=1e-12))


def assert_close(metric: Metric, expected: float) -> None:
    assert metric.reason is None
    assert metric.value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_classification_metrics_are_sklearns(case: Case) -> None:
    ours = case.metrics()
    assert list(ours) == list(CLASSIFICATION_METRICS)
    assert_matches(ours, case, CLASSIFICATION_METRICS)


def test_log_loss_clips_a_certain_wrong_score_to_machine_epsilon() -> None:
    ours = classification_metrics(["spam", "ham"], ["ham", "ham"], positive="spam", scores=[0, 1])
    assert ours["log_loss"] == Metric(-np.log(np.finfo(np.float64).eps))


REGRESSION_CASES = {
    "regression": (RNG.normal(size=50), RNG.normal(size=50)),
    "perfect": (np.arange(5.0), np.arange(5.0)),
    "one-row": (np.array([2.0]), np.array([-1.5])),
    "outlier": (RNG.normal(size=30), np.concatenate([[1e9], RNG.normal(size=29)])),
    "empty": (np.zeros(0), np.zeros(0)),
}


@pytest.mark.parametrize(("true", "predicted"), REGRESSION_CASES.values(), ids=REGRESSION_CASES)
def test_regression_metrics_are_sklearns(true: Floats, predicted: Floats) -> None:
    ours = regression_metrics(true, predicted)
    assert list(ours) == list(REGRESSION_METRICS)
    if true.size == 0:
        with pytest.raises(ValueError, match="0 sample"):
            sk.mean_absolute_error(true, predicted)
        assert ours == dict.fromkeys(REGRESSION_METRICS, Metric(None, EMPTY))
        return
    mae, rmse = sk.mean_absolute_error(true, predicted), sk.root_mean_squared_error(true, predicted)
    assert_close(ours["mae"], mae)
    assert_close(ours["rmse"], rmse)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: classification_metrics(
                ["a", "z"], ["a", "a"], scores=[[0.5, 0.5]] * 2, score_classes=["a", "b"]
            ),
            "'z' is not one of score_classes",
        ),
        (lambda: classification_metrics(["a"], ["a"], positive="a", scores=[1.5]), r"\[0, 1\]"),
        (lambda: classification_metrics(["a"], ["a"], positive="a", scores=[-0.1]), r"\[0, 1\]"),
        (lambda: classification_metrics(["a"], ["a"], scores=[0.5]), "needs score_classes"),
        (
            lambda: classification_metrics(["a"], ["a"], scores=[0.5], score_classes=["a", "b"]),
            r"shape \(1, 2\)",
        ),
        (lambda: classification_metrics(["a"], ["a"], positive="a", scores=[0.5, 0.5]), "shape"),
        (lambda: classification_metrics(["a", "b"], ["a"]), "one length"),
        (lambda: regression_metrics([1.0, np.nan], [1.0, 2.0]), "finite"),
        (lambda: regression_metrics([1.0], [1.0, 2.0]), "one length"),
        (lambda: window_starts(10, size=0, step=1), "at least 1"),
    ],
    ids=[
        "label-without-column",
        "score-above-one",
        "score-below-zero",
        "vector-without-positive",
        "matrix-shape",
        "vector-shape",
        "label-lengths",
        "regression-nan",
        "regression-lengths",
        "window-size-0",
    ],
)
def test_bad_input_is_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def labeled(kind: str, n: int, rng: np.random.Generator) -> tuple[Strs, Strs, dict[str, Any]]:
    """Labeled predictions with some unscored rows and a rare class (so that some short windows
    or buckets miss it), and the keyword arguments saying how they are scored."""
    classes, weights = ["ant", "bee", "cow", "dog"], [0.6, 0.3, 0.08, 0.02]
    true = rng.choice(np.array(classes), n, p=weights)
    predicted = np.where(rng.random(n) < 0.7, true, rng.choice(np.array(classes), n, p=weights))
    unscored = rng.random(n) < 0.1
    if kind == "binary":
        scores = np.clip(0.4 + 0.3 * (true == "dog") + rng.normal(0, 0.3, n), 0.0, 1.0)
        return true, predicted, {"positive": "dog", "scores": np.where(unscored, np.nan, scores)}
    matrix = np.where(unscored[:, None], np.nan, rng.dirichlet(np.ones(4), n))
    return true, predicted, {"scores": matrix, "score_classes": classes}


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_tallies_summed_over_buckets_give_the_metrics_of_all_rows(kind: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    true, predicted, scoring = labeled(kind, 600, rng)
    cuts = np.sort(rng.integers(0, 600, 80))  # repeated cuts make empty buckets
    buckets = np.split(np.arange(600), cuts)
    tallies = [
        classification_tally(true[b], predicted[b], **scoring_of(scoring, b)) for b in buckets
    ]
    assert len({tally.classes for tally in tallies}) > 2  # so + has class sets to unite
    summed = functools.reduce(operator.add, tallies).metrics()
    whole = classification_metrics(true, predicted, **scoring)
    del whole["auc"]
    assert_same(summed, whole)


def test_adding_tallies_unites_their_classes() -> None:
    one = classification_tally(["a", "a"], ["b", "a"], scores=[0.2, 0.9], positive="a")
    other = classification_tally(["c"], ["a"], scores=[np.nan], positive="a")
    total = (one + other).to_json()
    expected_confusion = [[1, 1, 0], [0, 0, 0], [1, 0, 0]]
    assert total["classes"] == ["a", "b", "c"]
    assert total["confusion"] == expected_confusion
    assert total["log_loss_sum"] == pytest.approx(-np.log(0.2) - np.log(0.9), rel=1e-12)
    assert total["scored"] == 2
    with pytest.raises(ValueError, match="positive classes differ"):
        one + classification_tally(["a"], ["a"], positive="b")


def test_regression_tallies_summed_over_buckets_give_the_metrics_of_all_rows() -> None:
    true, predicted = RNG.normal(size=500), RNG.normal(size=500) * 3
    buckets = np.split(np.arange(500), np.sort(RNG.integers(0, 500, 60)))
    tallies = [regression_tally(true[b], predicted[b]) for b in buckets]
    summed = functools.reduce(operator.add, tallies).metrics()
    whole = regression_metrics(true, predicted)
    for name in REGRESSION_METRICS:
        assert summed[name].value == pytest.approx(whole[name].value, rel=1e-12), name


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_a_classification_tally_survives_json(kind: str) -> None:
    true, predicted, scoring = labeled(kind, 200, np.random.default_rng(4))
    tally = classification_tally(true, predicted, **scoring)
    back = ClassificationTally.from_json(json.loads(json.dumps(tally.to_json())))
    assert back.to_json() == tally.to_json()
    assert back.metrics() == tally.metrics()
    assert tally.to_json()["positive"] == scoring.get("positive")


def test_a_regression_tally_survives_json() -> None:
    tally = regression_tally(RNG.normal(size=20), RNG.normal(size=20))
    assert RegressionTally.from_json(json.loads(json.dumps(tally.to_json()))) == tally


def window_case(
    true: Strs, predicted: Strs, scoring: dict[str, Any], rows: slice, metrics: Metrics
) -> Case:
    """One window's rows as a table row: undefined where our one-shot metrics say so."""
    undefined = {name: m.reason for name, m in metrics.items() if m.reason is not None}
    scores = scoring["scores"][rows]
    return Case(
        true[rows].tolist(),
        predicted[rows].tolist(),
        undefined,
        scoring.get("positive"),
        scores,
        scoring.get("score_classes"),
    )


@pytest.mark.parametrize(
    ("kind", "size", "step"),
    [("binary", 100, 35), ("binary", 40, 40), ("multiclass", 60, 17), ("multiclass", 30, 45)],
    ids=["binary-overlapping", "binary-adjacent", "multiclass-overlapping", "multiclass-gaps"],
)
def test_every_count_window_is_sklearns_on_its_rows(kind: str, size: int, step: int) -> None:
    true, predicted, scoring = labeled(kind, 2_537, np.random.default_rng(size + step))
    series = classification_windows(true, predicted, size=size, step=step, auc=True, **scoring)
    starts = window_starts(true.size, size=size, step=step).tolist()
    assert sorted(series) == sorted(CLASSIFICATION_METRICS)
    assert {len(values) for values in series.values()} == {len(starts)}
    for i, start in enumerate(starts):
        rows = slice(start, start + size)
        one_shot = classification_metrics(true[rows], predicted[rows], **scoring_of(scoring, rows))
        ours = {name: values[i] for name, values in series.items()}
        assert_same(ours, one_shot)
        assert_matches(ours, window_case(true, predicted, scoring, rows, one_shot), METRICS[:6])
    # The rare class leaves some windows undefined, so both branches above were taken.
    assert any(m.value is None for name in ("recall", "auc") for m in series[name])


def test_every_regression_window_is_sklearns_on_its_rows() -> None:
    true, predicted = RNG.normal(size=1_000), RNG.normal(size=1_000)
    predicted[3] = 1e9  # an outlier early on must not blur the windows after it
    series = regression_windows(true, predicted, size=64, step=21)
    starts = window_starts(1_000, size=64, step=21).tolist()
    assert {len(values) for values in series.values()} == {len(starts)}
    for i, start in enumerate(starts):
        t, p = true[start : start + 64], predicted[start : start + 64]
        assert_close(series["mae"][i], sk.mean_absolute_error(t, p))
        assert_close(series["rmse"][i], sk.root_mean_squared_error(t, p))


def test_the_tail_is_in_no_window_until_it_fills_one() -> None:
    true, predicted, scoring = labeled("multiclass", 1_037, np.random.default_rng(5))
    starts = window_starts(1_037, size=200, step=70)
    assert starts.tolist() == list(range(0, 771, 70))  # the last ends at row 970
    before = classification_windows(true, predicted, size=200, step=70, **scoring)
    changed = predicted.copy()
    changed[970:] = np.where(changed[970:] == "ant", "bee", "ant")
    assert classification_windows(true, changed, size=200, step=70, **scoring) == before
    changed[969] = "dog" if changed[969] != "dog" else "ant"
    assert classification_windows(true, changed, size=200, step=70, **scoring) != before
    assert window_starts(1_040, size=200, step=70).tolist()[-1] == 840  # three more rows: a window


@pytest.mark.parametrize(
    ("rows", "size", "step", "expected"),
    [(99, 100, 10, []), (100, 100, 10, [0]), (23, 5, 10, [0, 10]), (7, 3, 1, [0, 1, 2, 3, 4])],
    ids=["shorter-than-a-window", "one-window", "gaps", "every-row"],
)
def test_window_starts(rows: int, size: int, step: int, expected: list[int]) -> None:
    assert window_starts(rows, size=size, step=step).tolist() == expected
    series = regression_windows(np.zeros(rows), np.ones(rows), size=size, step=step)
    assert series["mae"] == [Metric(1.0)] * len(expected)


def test_auc_only_when_asked() -> None:
    true, predicted, scoring = labeled("binary", 300, np.random.default_rng(6))
    assert "auc" not in classification_windows(true, predicted, size=50, step=50, **scoring)
