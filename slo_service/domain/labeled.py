"""Labeled predictions as the performance metrics read them (``domain.performance``), for a
service's task: which rows a task can measure, their scores as the metrics take them, and the
tallies, count windows and metrics of a run of rows. Pure.

A classification's scores: with a positive class (a binary classifier), the probability of it
per row (its ``score``, or its entry in the row's map); else a row of class probabilities per
prediction over the classes the maps name, a class a map leaves out being 0. A row without a
score, or whose map lacks its label's class, counts as unscored (log loss and AUC skip it).
A regression measures the rows with a number on both sides: a label sent as text for one is
kept and measured by nothing.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import numpy as np

from slo_service.domain import performance
from slo_service.domain.performance import Metrics, Series
from slo_service.domain.series import Floats

Tally = performance.ClassificationTally | performance.RegressionTally
Task = Literal["classification", "regression"]


class Row(Protocol):
    """A logged prediction with its label."""

    @property
    def ts(self) -> float: ...
    @property
    def predicted(self) -> str | None: ...
    @property
    def predicted_value(self) -> float | None: ...
    @property
    def score(self) -> float | None: ...
    @property
    def scores(self) -> Mapping[str, float] | None: ...
    @property
    def label(self) -> str | None: ...
    @property
    def label_value(self) -> float | None: ...
    @property
    def labeled_at(self) -> float | None: ...


R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class Reading:
    """How a service's labeled predictions are measured: its task, and for a binary
    classifier the class its scores are the probability of."""

    task: Task
    positive: str | None = None

    def usable(self, rows: Sequence[R]) -> list[R]:
        """The rows the task can measure."""
        if self.task == "regression":
            return [r for r in rows if r.label_value is not None and r.predicted_value is not None]
        return [r for r in rows if r.label is not None and r.predicted is not None]

    def tally(self, rows: Sequence[Row]) -> Tally:
        rows = self.usable(rows)
        if self.task == "regression":
            return performance.regression_tally(*_values(rows))
        scores, classes = self.scores(rows)
        return performance.classification_tally(
            *_classes(rows), positive=self.positive, scores=scores, score_classes=classes
        )

    def stored(self, kept: Mapping[str, Any]) -> Tally:
        """A tally as ``to_json`` kept it, read with this positive class (set later than some
        tallies were kept, it is theirs too: they hold no binary score)."""
        if self.task == "regression":
            return performance.RegressionTally.from_json(kept)  # type: ignore[arg-type]
        tally = performance.ClassificationTally.from_json(kept)  # type: ignore[arg-type]
        return tally.with_positive(self.positive)

    def metrics(self, rows: Sequence[Row]) -> Metrics:
        """Every metric of the task over the rows, AUC included."""
        rows = self.usable(rows)
        if self.task == "regression":
            return performance.regression_metrics(*_values(rows))
        scores, classes = self.scores(rows)
        return performance.classification_metrics(
            *_classes(rows), positive=self.positive, scores=scores, score_classes=classes
        )

    def windows(self, rows: Sequence[Row], *, size: int, step: int, auc: bool) -> Series:
        """The metrics of each count window of the (usable) rows, in their order."""
        rows = self.usable(rows)
        if self.task == "regression":
            return performance.regression_windows(*_values(rows), size=size, step=step)
        scores, classes = self.scores(rows)
        return performance.classification_windows(
            *_classes(rows), size=size, step=step, positive=self.positive, scores=scores,
            score_classes=classes, auc=auc,
        )  # fmt: skip

    def scores(self, rows: Sequence[Row]) -> tuple[Floats | None, list[str] | None]:
        """A classification's scores as the metrics take them (None: no row has one)."""
        if self.positive is not None:
            values = np.array([_positive_score(row, self.positive) for row in rows])
            return (None, None) if np.isnan(values).all() else (values, None)
        classes = sorted({name for row in rows if row.scores for name in row.scores})
        if len(classes) < 2:
            return None, None
        matrix = np.full((len(rows), len(classes)), np.nan)
        for i, row in enumerate(rows):
            if row.scores and str(row.label) in row.scores:
                matrix[i] = [row.scores.get(name, 0.0) for name in classes]
        return matrix, classes


def _values(rows: Sequence[Row]) -> tuple[Floats, Floats]:
    true = np.array([r.label_value for r in rows], dtype=np.float64)
    return true, np.array([r.predicted_value for r in rows], dtype=np.float64)


def _classes(rows: Sequence[Row]) -> tuple[list[str], list[str]]:
    return [str(r.label) for r in rows], [str(r.predicted) for r in rows]


def _positive_score(row: Row, positive: str) -> float:
    if row.score is not None:
        return row.score
    if row.scores and positive in row.scores:
        return row.scores[positive]
    return float("nan")
