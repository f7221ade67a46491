"""Model performance from ground truth: labels that arrive after the predictions. Pure.

Long because one-shot metrics, bucket tallies and count windows are three readings of the same
counts, with one rule for when a metric is undefined (``_class_series``): split up, each part
would restate the definitions below.

Every metric is scikit-learn's (checked against 1.9 in the tests), over rows of (true label,
predicted label, optional score). With a ``positive`` class (binary): precision = TP / predicted
positives, recall = TP / positive labels, F1 = 2 TP / (predicted positives + positive labels),
every other class counting as negative; AUC-ROC from P(positive). Without (multi-class): each of
those is the unweighted mean over the classes among the labels or the predictions (sklearn's
``average="macro"``), and AUC-ROC the mean one-vs-rest AUC over the columns of a probability
matrix, named by ``score_classes``. Accuracy: the share of rows predicted exactly. Log loss:
mean ``-ln`` of the probability given to the true class, clipped to ``[eps, 1 - eps]`` (float64
machine epsilon, ~2.2e-16) and not renormalised, as sklearn 1.9 does; a score ``p`` of the
positive class is the row ``[1 - p, p]``. Regression: MAE = mean |error|, RMSE = sqrt(mean
error²).

Where sklearn warns that a metric is undefined (``UndefinedMetricWarning``, then reports 0 or
NaN), the value is None with a reason; so too for an empty window, for which sklearn raises. A
macro mean is undefined as soon as one class's term is (a class never predicted has no
precision, one only predicted no recall): sklearn would count the term as 0 and pull the mean
down unannounced. Labels are strings (callers turn integers into strings; classes sort as
strings). A NaN score marks a row without one (for a matrix, a row with any NaN); log loss and
AUC are over the scored rows. A score outside [0, 1], or a scored row whose label has no column
among ``score_classes``, is a ValueError (as in sklearn).

Every metric but AUC is additive: a tally (confusion counts, log-loss sum and scored rows; or
rows, sum |error|, sum error²) summed over buckets gives the value of all their rows at once.
Count windows ("the last N labeled predictions, every M") take the same sums per window in a few
passes over all rows; AUC must sort each window's scores.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple, TypedDict, get_args

import numpy as np
import numpy.typing as npt
from scipy import stats

from slo_service.domain.series import Bools, Floats

MetricName = Literal["accuracy", "precision", "recall", "f1", "auc", "log_loss", "mae", "rmse"]
METRICS: tuple[MetricName, ...] = get_args(MetricName)
CLASSIFICATION_METRICS: tuple[MetricName, ...] = METRICS[:6]
REGRESSION_METRICS: tuple[MetricName, ...] = METRICS[6:]

EMPTY = "no labeled predictions in the window"
NO_SCORES = "no scored predictions in the window"
NO_PREDICTED_POSITIVES = "no predicted positives in the window"
NO_POSITIVE_LABELS = "no positive labels in the window"
NO_POSITIVES = "neither positive labels nor predicted positives in the window"
ONE_CLASS = "only one class among the labels"
NEVER_PREDICTED = "class {!r} is never predicted in the window"
NOT_A_LABEL = "class {!r} is not among the labels"

PEEL_LIMIT = 16  # distinct labels found by comparison passes before sorting the rest
EPS = float(np.finfo(np.float64).eps)

Strs = npt.NDArray[np.str_]
Ints = npt.NDArray[np.int64]
Labels = Sequence[str] | Strs


@dataclass(frozen=True)
class Metric:
    """A metric's value, or None and why it is undefined."""

    value: float | None
    reason: str | None = None


Metrics = dict[MetricName, Metric]
Series = dict[MetricName, list[Metric]]  # one Metric per count window, in order


class ClassificationTallyJSON(TypedDict):
    classes: list[str]
    confusion: list[list[int]]
    positive: str | None
    log_loss_sum: float
    scored: int


class RegressionTallyJSON(TypedDict):
    count: int
    abs_error_sum: float
    squared_error_sum: float


@dataclass(frozen=True, eq=False)
class ClassificationTally:
    """Confusion counts (rows: true class, columns: predicted class, both over the sorted
    ``classes``) and the log-loss sum over the ``scored`` rows. ``+`` merges two tallies of one
    ``positive`` (None: multi-class), taking the union of their classes."""

    classes: tuple[str, ...]
    confusion: Ints
    positive: str | None
    log_loss_sum: float = 0.0
    scored: int = 0

    def __post_init__(self) -> None:
        k = len(self.classes)
        if list(self.classes) != sorted(set(self.classes)):
            raise ValueError("classes must be sorted and distinct")
        if self.confusion.shape != (k, k) or (self.confusion < 0).any():
            raise ValueError(f"confusion must be a {k} x {k} matrix of counts")

    def __add__(self, other: ClassificationTally) -> ClassificationTally:
        if self.positive != other.positive:
            raise ValueError(f"positive classes differ: {self.positive!r}, {other.positive!r}")
        classes = tuple(sorted(set(self.classes) | set(other.classes)))
        index = {name: i for i, name in enumerate(classes)}
        confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
        for tally in (self, other):
            at = np.array([index[name] for name in tally.classes], dtype=np.intp)
            confusion[np.ix_(at, at)] += tally.confusion
        loss_sum = self.log_loss_sum + other.log_loss_sum
        return ClassificationTally(
            classes, confusion, self.positive, loss_sum, self.scored + other.scored
        )

    def __sub__(self, other: ClassificationTally) -> ClassificationTally:
        """Take out a tally that was added (a replaced label's row); a class left with no
        row, as label or prediction, leaves the class set, as it would leave sklearn's."""
        index = {name: i for i, name in enumerate(self.classes)}
        if not set(other.classes) <= set(index):
            raise ValueError(f"cannot take out classes never added: {other.classes}")
        confusion = self.confusion.copy()
        at = np.array([index[name] for name in other.classes], dtype=np.intp)
        confusion[np.ix_(at, at)] -= other.confusion
        if (confusion < 0).any():
            raise ValueError("cannot take out more rows than were added")
        present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
        classes = tuple(name for name, kept in zip(self.classes, present, strict=True) if kept)
        return ClassificationTally(
            classes,
            confusion[np.ix_(present, present)],
            self.positive,
            self.log_loss_sum - other.log_loss_sum,
            self.scored - other.scored,
        )

    def with_positive(self, positive: str | None) -> ClassificationTally:
        """The same counts read with another positive class."""
        return replace(self, positive=positive)

    def metrics(self) -> Metrics:
        """Every classification metric but AUC, which is not additive."""
        confusion, rows = self.confusion, int(self.confusion.sum())
        if rows == 0:
            return {name: Metric(None, EMPTY) for name in CLASSIFICATION_METRICS if name != "auc"}
        tp, predicted, actual = np.diag(confusion), confusion.sum(axis=0), confusion.sum(axis=1)
        classes = self.classes
        if self.positive is not None:
            classes = (self.positive,)
            at = [self.classes.index(self.positive)] if self.positive in self.classes else []
            tp, predicted, actual = (a[at].sum(keepdims=True) for a in (tp, predicted, actual))
        totals = [np.trace(confusion), rows, self.log_loss_sum, self.scored]
        counts = _ClassCounts(
            tp[:, None], predicted[:, None], actual[:, None], *map(np.array, [[x] for x in totals])
        )
        series = _class_series(counts, classes, binary=self.positive is not None)
        return {name: values[0] for name, values in series.items()}

    def to_json(self) -> ClassificationTallyJSON:
        return {
            "classes": list(self.classes),
            "confusion": self.confusion.tolist(),
            "positive": self.positive,
            "log_loss_sum": float(self.log_loss_sum),
            "scored": int(self.scored),
        }

    @classmethod
    def from_json(cls, data: ClassificationTallyJSON) -> ClassificationTally:
        k = len(data["classes"])
        confusion = np.array(data["confusion"], dtype=np.int64).reshape(k, k)
        classes, positive = tuple(data["classes"]), data["positive"]
        return cls(classes, confusion, positive, float(data["log_loss_sum"]), data["scored"])


@dataclass(frozen=True)
class RegressionTally:
    """Rows, sum |error| and sum error² of some predictions; ``+`` merges two."""

    count: int = 0
    abs_error_sum: float = 0.0
    squared_error_sum: float = 0.0

    def __add__(self, other: RegressionTally) -> RegressionTally:
        return RegressionTally(
            self.count + other.count,
            self.abs_error_sum + other.abs_error_sum,
            self.squared_error_sum + other.squared_error_sum,
        )

    def __sub__(self, other: RegressionTally) -> RegressionTally:
        """Take out a tally that was added (a replaced label's rows)."""
        if other.count > self.count:
            raise ValueError("cannot take out more rows than were added")
        return RegressionTally(
            self.count - other.count,
            self.abs_error_sum - other.abs_error_sum,
            self.squared_error_sum - other.squared_error_sum,
        )

    def metrics(self) -> Metrics:
        sums = np.array([self.abs_error_sum]), np.array([self.squared_error_sum])
        series = _regression_series(np.array([self.count]), *sums)
        return {name: values[0] for name, values in series.items()}

    def to_json(self) -> RegressionTallyJSON:
        return {
            "count": int(self.count),
            "abs_error_sum": float(self.abs_error_sum),
            "squared_error_sum": float(self.squared_error_sum),
        }

    @classmethod
    def from_json(cls, data: RegressionTallyJSON) -> RegressionTally:
        return cls(data["count"], float(data["abs_error_sum"]), float(data["squared_error_sum"]))


def classification_tally(
    true: Labels,
    predicted: Labels,
    *,
    positive: str | None = None,
    scores: npt.ArrayLike | None = None,
    score_classes: Sequence[str] | None = None,
) -> ClassificationTally:
    """The tally of some labeled predictions. ``scores`` (optional): with ``positive``, P(positive)
    per row; without, a row per prediction and a column per class of ``score_classes``."""
    return _tally(_rows(true, predicted, positive, scores, score_classes), positive)


def regression_tally(true: npt.ArrayLike, predicted: npt.ArrayLike) -> RegressionTally:
    errors = _errors(true, predicted)
    return RegressionTally(errors.size, float(np.abs(errors).sum()), float(np.sum(errors**2)))


def classification_metrics(
    true: Labels,
    predicted: Labels,
    *,
    positive: str | None = None,
    scores: npt.ArrayLike | None = None,
    score_classes: Sequence[str] | None = None,
) -> Metrics:
    """Every classification metric of some labeled predictions (as ``classification_tally``)."""
    rows = _rows(true, predicted, positive, scores, score_classes)
    metrics = _tally(rows, positive).metrics()
    empty = rows.true.size == 0
    metrics["auc"] = Metric(None, EMPTY) if empty else _auc(rows, slice(None), score_classes)
    return {name: metrics[name] for name in CLASSIFICATION_METRICS}


def regression_metrics(true: npt.ArrayLike, predicted: npt.ArrayLike) -> Metrics:
    return regression_tally(true, predicted).metrics()


def window_starts(rows: int, *, size: int, step: int) -> Ints:
    """The first row of each count window of ``size`` rows, every ``step`` rows from row 0:
    window ``i`` is rows ``[i * step, i * step + size)``, and only full windows count. The tail,
    fewer than ``step`` rows after the last window's end, is in no window until enough rows
    follow it to fill the next one (with ``step > size``, the rows between windows never are)."""
    if size < 1 or step < 1:
        raise ValueError(f"size and step must be at least 1, got {size} and {step}")
    return np.arange(0, max(rows - size + 1, 0), step, dtype=np.int64)


def classification_windows(
    true: Labels,
    predicted: Labels,
    *,
    size: int,
    step: int,
    positive: str | None = None,
    scores: npt.ArrayLike | None = None,
    score_classes: Sequence[str] | None = None,
    auc: bool = False,
) -> Series:
    """Every classification metric of each count window (see ``window_starts``) of rows in the
    order they were labeled. AUC only if ``auc``: it sorts each window in turn (~0.2 ms per
    window of 1,000), where the rest take a few passes over all rows whatever the windows."""
    rows = _rows(true, predicted, positive, scores, score_classes)
    starts = window_starts(rows.true.size, size=size, step=step)
    codes = range(len(rows.classes)) if rows.positive is None else [rows.positive]
    per_class = np.zeros((3, len(codes), starts.size), dtype=np.int64)
    for i, code in enumerate(codes):
        is_true, is_predicted = rows.true == code, rows.predicted == code
        for j, indicator in enumerate((is_true & is_predicted, is_predicted, is_true)):
            per_class[j, i] = _window_sums(indicator, starts, size)
    counts = _ClassCounts(
        per_class[0],
        per_class[1],
        per_class[2],
        correct=_window_sums(rows.true == rows.predicted, starts, size),
        rows=np.full(starts.size, size, dtype=np.int64),
        loss_sum=_window_sums(rows.losses, starts, size),
        scored=_window_sums(rows.scored, starts, size),
    )
    names = rows.classes if positive is None else [positive]
    series = _class_series(counts, names, binary=positive is not None)
    if auc:
        windows = (slice(start, start + size) for start in starts.tolist())
        series["auc"] = [_auc(rows, window, score_classes) for window in windows]
    return {name: series[name] for name in CLASSIFICATION_METRICS if name in series}


def regression_windows(
    true: npt.ArrayLike, predicted: npt.ArrayLike, *, size: int, step: int
) -> Series:
    """MAE and RMSE of each count window (see ``window_starts``)."""
    errors = _errors(true, predicted)
    starts = window_starts(errors.size, size=size, step=step)
    count = np.full(starts.size, size, dtype=np.int64)
    abs_sum = _window_sums(np.abs(errors), starts, size)
    return _regression_series(count, abs_sum, _window_sums(errors**2, starts, size))


class _Rows(NamedTuple):
    """Labeled predictions, labels as codes into the sorted ``classes`` (those among the labels
    or the predictions); each row's log loss (0 where it has no score)."""

    classes: list[str]
    true: Ints
    predicted: Ints
    scores: Floats | None
    scored: Bools
    losses: Floats
    positive: int | None  # the positive class's code; -1 when it is in no row


class _ClassCounts(NamedTuple):
    """Per class (rows) and window (columns): true positives, predictions and labels of the
    class; per window: correct predictions, rows, log-loss sum and scored rows."""

    tp: Ints
    predicted: Ints
    actual: Ints
    correct: Ints
    rows: Ints
    loss_sum: Floats
    scored: Ints


def _rows(
    true: Labels,
    predicted: Labels,
    positive: str | None,
    scores: npt.ArrayLike | None,
    score_classes: Sequence[str] | None,
) -> _Rows:
    t, p = np.asarray(true, dtype=np.str_), np.asarray(predicted, dtype=np.str_)
    if t.ndim != 1 or t.shape != p.shape:
        raise ValueError(f"labels must be two 1-d arrays of one length, got {t.shape}, {p.shape}")
    classes, codes = _encode(np.concatenate([t, p]))
    t_codes, p_codes = codes[: t.size], codes[t.size :]
    positive_code = None if positive is None else _code(classes, positive)
    s = _scores(scores, t.size, positive, score_classes)
    if s is None:
        unscored = np.zeros(t.size, dtype=np.bool_)
        return _Rows(classes, t_codes, p_codes, None, unscored, np.zeros(t.size), positive_code)
    missing = np.isnan(s)
    scored = np.asarray(~(missing.any(axis=1) if missing.ndim == 2 else missing), dtype=np.bool_)
    if positive_code is not None:
        truth = np.where(t_codes == positive_code, s, 1 - s)
    else:
        assert score_classes is not None  # _scores saw to it
        column = np.full(len(classes), -1)  # each class's column among the scores
        for j, name in enumerate(score_classes):
            if (code := _code(classes, name)) >= 0:
                column[code] = j
        columns = column[t_codes]
        if (scored & (columns < 0)).any():
            unknown = t[scored & (columns < 0)][0]
            raise ValueError(f"label {str(unknown)!r} is not one of score_classes")
        truth = s[np.arange(t.size), columns]
    losses = np.where(scored, -np.log(np.clip(truth, EPS, 1 - EPS)), 0.0)
    return _Rows(classes, t_codes, p_codes, s, scored, losses, positive_code)


def _tally(rows: _Rows, positive: str | None) -> ClassificationTally:
    k = len(rows.classes)
    confusion = np.bincount(rows.true * k + rows.predicted, minlength=k * k).reshape(k, k)
    loss_sum, scored = float(rows.losses.sum()), int(rows.scored.sum())
    return ClassificationTally(tuple(rows.classes), confusion, positive, loss_sum, scored)


def _encode(labels: Strs) -> tuple[list[str], Ints]:
    """The distinct labels, sorted, and each label's index among them. A comparison pass per
    label found beats sorting strings by far while labels are few (~40 ms against ~450 ms for
    2,000,000 labels of 4 classes); past ``PEEL_LIMIT`` labels, ``np.unique`` sorts the rest."""
    codes = np.empty(labels.size, dtype=np.int64)
    found: list[str] = []
    where, rest = np.arange(labels.size), labels
    while rest.size and len(found) < PEEL_LIMIT:
        same = rest == rest[0]
        codes[where[same]] = len(found)
        found.append(str(rest[0]))
        where, rest = where[~same], rest[~same]
    extra, inverse = np.unique(rest, return_inverse=True)
    codes[where] = inverse + len(found)
    found += extra.tolist()
    order = sorted(range(len(found)), key=found.__getitem__)
    rank = np.empty(len(found), dtype=np.int64)
    rank[order] = np.arange(len(found))
    return [found[i] for i in order], rank[codes]


def _code(classes: list[str], name: str) -> int:
    """``name``'s index among the sorted ``classes``; -1 if it is not one."""
    i = bisect_left(classes, name)
    return i if i < len(classes) and classes[i] == name else -1


def _scores(
    scores: npt.ArrayLike | None, rows: int, positive: str | None, classes: Sequence[str] | None
) -> Floats | None:
    """``scores`` as an array, checked against the mode: P(positive) per row with ``positive``,
    else a row per prediction and a column per class of ``classes``."""
    if scores is None:
        return None
    values = np.asarray(scores, dtype=np.float64)
    if positive is not None:
        shape: tuple[int, ...] = (rows,)
    elif classes is None or len(classes) < 2 or len(set(classes)) != len(classes):
        raise ValueError("a probability matrix needs score_classes: its 2 or more column names")
    else:
        shape = (rows, len(classes))
    if values.shape != shape:
        raise ValueError(f"scores must have shape {shape}, got {values.shape}")
    if ((values < 0) | (values > 1)).any():
        raise ValueError("scores must lie in [0, 1] (NaN for a row without one)")
    return values


def _errors(true: npt.ArrayLike, predicted: npt.ArrayLike) -> Floats:
    t, p = np.asarray(true, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    if t.ndim != 1 or t.shape != p.shape:
        raise ValueError(f"values must be two 1-d arrays of one length, got {t.shape}, {p.shape}")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValueError("true and predicted values must be finite")
    return p - t


def _window_sums(values: npt.NDArray[Any], starts: Ints, size: int) -> npt.NDArray[Any]:
    """``values[s : s + size].sum()`` for each start ``s``, in a few passes over ``values``.

    Counts are differences of running counts, which are exact. A difference of running float
    sums would carry a large value seen once (an outlier's squared error) into every later window
    as rounding error, so rows are cut into blocks of ``size`` instead: a window is the tail of
    the block it starts in plus the head of the next, each a running sum over the window's own
    rows. The terms are never negative, so the relative error stays under ``size`` x epsilon.
    """
    if values.dtype == np.bool_:
        running = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
        counts: Ints = running[starts + size] - running[starts]
        return counts
    blocks = values.size // size + 2  # room for the head of the block after the last
    flat = np.zeros(blocks * size)
    flat[: values.size] = values
    grid = flat.reshape(blocks, size)
    tails = np.cumsum(grid[:, ::-1], axis=1)[:, ::-1]  # rows [s, end of s's block)
    heads = np.zeros_like(grid)  # rows [start of s's block, s)
    heads[:, 1:] = np.cumsum(grid[:, :-1], axis=1)
    sums: Floats = tails.ravel()[starts] + heads.ravel()[starts + size]
    return sums


def _auc(rows: _Rows, window: slice, score_classes: Sequence[str] | None) -> Metric:
    """AUC-ROC over a window's scored rows: binary, or the mean one-vs-rest AUC."""
    if rows.scores is None:
        return Metric(None, NO_SCORES)
    scored = rows.scored[window]
    true, scores = rows.true[window][scored], rows.scores[window][scored]
    if true.size == 0:
        return Metric(None, NO_SCORES)
    if rows.positive is not None:
        return _binary_auc(true == rows.positive, scores)
    if (true == true[0]).all():
        return Metric(None, ONE_CLASS)
    assert score_classes is not None  # _scores saw to it
    aucs = []
    for j, name in enumerate(score_classes):
        auc = _binary_auc(true == _code(rows.classes, name), scores[:, j])
        if auc.value is None:
            return Metric(None, NOT_A_LABEL.format(name))
        aucs.append(auc.value)
    return Metric(float(np.mean(aucs)))


def _binary_auc(is_positive: Bools, scores: Floats) -> Metric:
    """The Mann-Whitney U over positives and negatives: the chance that a random positive
    outscores a random negative, a tie counting half, which is the area under the ROC curve."""
    positives = int(is_positive.sum())
    negatives = is_positive.size - positives
    if positives == 0 or negatives == 0:
        return Metric(None, ONE_CLASS)
    ranks = stats.rankdata(scores)  # ties get their average rank
    u = float(ranks[is_positive].sum()) - positives * (positives + 1) / 2
    return Metric(u / (positives * negatives))


def _class_series(counts: _ClassCounts, classes: Sequence[str], *, binary: bool) -> Series:
    """Accuracy, precision, recall, F1 and log loss per window, from the window's counts."""
    tp, predicted, actual = counts.tp, counts.predicted, counts.actual
    precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
    f1 = _ratio(2 * tp, predicted + actual)
    series: Series = {
        "accuracy": _series(_ratio(counts.correct, counts.rows), _why(counts.rows == 0, EMPTY))
    }
    if binary:
        series["precision"] = _series(precision[0], _why(predicted[0] == 0, NO_PREDICTED_POSITIVES))
        series["recall"] = _series(recall[0], _why(actual[0] == 0, NO_POSITIVE_LABELS))
        series["f1"] = _series(f1[0], _why(predicted[0] + actual[0] == 0, NO_POSITIVES))
    else:
        present = predicted + actual > 0  # sklearn's label set: among labels or predictions

        def macro(per_class: Floats) -> Floats:
            return _ratio(np.where(present, per_class, 0.0).sum(axis=0), present.sum(axis=0))

        never_predicted = _why_class(present & (predicted == 0), NEVER_PREDICTED, classes)
        series["precision"] = _series(macro(precision), never_predicted)
        not_a_label = _why_class(present & (actual == 0), NOT_A_LABEL, classes)
        series["recall"] = _series(macro(recall), not_a_label)
        series["f1"] = _series(macro(f1), _why(counts.rows == 0, EMPTY))
    loss = _ratio(counts.loss_sum, counts.scored)
    series["log_loss"] = _series(loss, _why(counts.scored == 0, NO_SCORES))
    return series


def _regression_series(count: Ints, abs_sum: Floats, squared_sum: Floats) -> Series:
    empty = _why(count == 0, EMPTY)
    mse = _ratio(squared_sum, count)
    return {"mae": _series(_ratio(abs_sum, count), empty), "rmse": _series(np.sqrt(mse), empty)}


def _ratio(numerator: npt.NDArray[Any], denominator: npt.NDArray[Any]) -> Floats:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(numerator / denominator, dtype=np.float64)


def _why(undefined: Bools, reason: str) -> list[str | None]:
    return [reason if flag else None for flag in undefined.tolist()]


def _why_class(undefined: Bools, reason: str, classes: Sequence[str]) -> list[str | None]:
    """Per window (column), ``reason`` naming the first class whose row is True there."""
    first: list[int] = undefined.argmax(axis=0).tolist()
    flags: list[bool] = np.asarray(undefined.any(axis=0), dtype=np.bool_).tolist()
    pairs = zip(first, flags, strict=True)
    return [reason.format(classes[i]) if flag else None for i, flag in pairs]


def _series(values: Floats, reasons: list[str | None]) -> list[Metric]:
    pairs = zip(values.tolist(), reasons, strict=True)
    return [Metric(None, reason) if reason else Metric(value) for value, reason in pairs]
