"""API shapes of the prediction log: logged predictions, their late labels, and the
performance series made of them."""

import math
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from slo_service.schemas.common import Input, Instant

Task = Literal["classification", "regression"]
SCORE_SUM_TOLERANCE = 1e-3
MAX_ITEMS = 10_000
MAX_CLASSES = 1_000

ItemId = Annotated[str, Field(min_length=1, max_length=200, description="Unique per service.")]
ClassOrValue = Annotated[
    StrictStr | StrictInt | StrictFloat,
    Field(
        description="A class label (a string, or an integer) of a classifier, or the number a "
        "regression model predicted."
    ),
]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class _Item(BaseModel):
    """An item of a batch: no field beyond the model's; the batch (an ``Input``) refuses a
    NUL character anywhere in it at once, rather than item by item."""

    model_config = ConfigDict(extra="forbid")


class PredictionIn(_Item):
    """One prediction as the serving code logged it."""

    id: ItemId
    timestamp: Instant
    model_version: str = Field(min_length=1, max_length=100)
    prediction: ClassOrValue
    score: Probability | dict[str, Probability] | None = Field(
        default=None,
        description="A binary classifier's probability of the positive class, or a map of "
        "each class's probability (summing to 1); for AUC and log loss.",
    )

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if isinstance(self.prediction, str) and len(self.prediction) > 200:
            raise ValueError("a class label has at most 200 characters")
        if isinstance(self.prediction, float) and not math.isfinite(self.prediction):
            raise ValueError("prediction must be a finite number")
        if isinstance(self.score, dict):
            if not 2 <= len(self.score) <= MAX_CLASSES:
                raise ValueError(f"score maps 2 to {MAX_CLASSES} classes to their probability")
            total = math.fsum(self.score.values())
            if abs(total - 1) > SCORE_SUM_TOLERANCE:
                raise ValueError(f"the class probabilities in score sum to {total}, not 1")
        return self


class PredictionsIn(Input):
    """A batch of logged predictions: stored whole, or not at all when an item is bad."""

    predictions: list[PredictionIn] = Field(min_length=1, max_length=MAX_ITEMS)
    task: Task | None = Field(
        default=None,
        description="What the model does. Fixed by the service's first batch; when left out "
        "then, a batch with class names or scores is classification, else one with a "
        "fractional number among its predictions is regression, else classification.",
    )
    positive_class: StrictStr | StrictInt | None = Field(
        default=None,
        description="The class a binary classifier's score is the probability of (default 1). "
        "Fixed by the first batch that gives it.",
    )


class PredictionsResult(BaseModel):
    accepted: int = Field(description="New predictions stored.")
    duplicates: int = Field(description="Predictions whose id was stored already: ignored.")
    labeled: int = Field(description="New predictions whose label had arrived before them.")
    task: Task


class LabelIn(_Item):
    """The truth of one prediction, hours or days after it was made."""

    id: ItemId
    label: ClassOrValue
    labeled_at: Instant

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if isinstance(self.label, str) and len(self.label) > 200:
            raise ValueError("a class label has at most 200 characters")
        if isinstance(self.label, float) and not math.isfinite(self.label):
            raise ValueError("label must be a finite number")
        return self


class LabelsIn(Input):
    """A batch of labels: stored whole, or not at all when an item is bad."""

    labels: list[LabelIn] = Field(min_length=1, max_length=MAX_ITEMS)


class LabelsResult(BaseModel):
    matched: int = Field(description="Labels given to logged predictions that had none.")
    replaced: int = Field(
        description="Labels that replaced an earlier label of the same prediction (each "
        "prediction counts the labels it received)."
    )
    pending: int = Field(
        description="Labels for predictions not logged yet: kept for SLO_LABEL_WAIT_DAYS and "
        "matched when the prediction arrives."
    )


class MetricPublic(BaseModel):
    value: float | None = Field(description="Null when the metric is undefined here.")
    reason: str | None = Field(default=None, description="Why the value is null.")


class PerformancePoint(BaseModel):
    start: datetime = Field(
        description="By time: the window's start; by count: the first prediction's time."
    )
    end: datetime = Field(
        description="By time: the window's end; by count: the last prediction's time."
    )
    predicted: int | None = Field(description="Predictions logged in the window (by time).")
    labeled: int = Field(description="Labeled predictions the metrics read.")
    coverage: float | None = Field(description="labeled / predicted (by time).")
    metrics: dict[str, MetricPublic]


class LabelDelay(BaseModel):
    p50_seconds: float | None = Field(description="Whole seconds; null without labels.")
    p95_seconds: float | None = Field(description="Whole seconds; null without labels.")
    labels: int = Field(description="Labels the delays are of.")


class PerformancePublic(BaseModel):
    service: str
    task: Task
    positive_class: str | None = Field(
        description="The class binary metrics are of; null: macro averages over the classes."
    )
    by: Literal["time", "count"]
    window: str
    step: str
    model_version: str | None
    points: list[PerformancePoint]
    overall: PerformancePoint = Field(description="The whole range as one window.")
    label_delay: LabelDelay = Field(
        description="How long labels of the range's predictions took to arrive (within ~4.4%)."
    )
