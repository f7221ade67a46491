"""API shapes of the drift store and of the ML on-call view."""

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from slo_service.domain.drift_columns import FeatureType
from slo_service.domain.ids import MAX_ID
from slo_service.schemas.common import Instant, refuse_nul
from slo_service.schemas.status import FiringTierPublic, LabelCoveragePublic

FEATURE = Field(min_length=1, max_length=200)
COLUMNS_HELP = (
    'One list per feature, all of one length: {"age": [31, 45, null], "country": ["de", "fr", '
    "null]}; null is a missing value (counted in the null rate), NaN and infinities are refused."
)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Checked(_Input):
    """Refuses NUL in any text. References and batches are not: walking millions of values
    one by one is what their upload avoids, so ``api.drift`` looks in the raw body first."""

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        refuse_nul(data)
        return data


class ReferenceIn(_Input):
    """Reference data (the training or validation set) of a service's features."""

    columns: dict[str, list[Any]] = Field(description=COLUMNS_HELP)
    types: dict[str, FeatureType] = Field(
        default_factory=dict,
        description="A feature's type where inference would be wrong: numbers are numeric and "
        "strings categorical unless named here.",
    )
    bins: int = Field(default=10, ge=2, le=100, description="Quantile bins of numeric features.")


class BatchIn(_Input):
    """A production batch with the reference's features."""

    columns: dict[str, list[Any]] = Field(description=COLUMNS_HELP)
    timestamp: Instant | None = Field(
        default=None, description="When the batch was observed; now by default."
    )
    batch_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Unique per service: a retried batch with the same id is stored once.",
    )


class MeasurementIn(_Checked):
    """One feature's drift computed by an external job; give at least one statistic."""

    feature: str = FEATURE
    timestamp: Instant
    type: FeatureType | None = None
    psi: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    js_distance: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    ks_statistic: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    ks_pvalue: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    chi2_statistic: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    chi2_pvalue: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    null_rate: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    count: int | None = Field(default=None, ge=0, le=MAX_ID)

    @model_validator(mode="after")
    def _some_statistic(self) -> Self:
        if self.psi is None and self.js_distance is None and self.ks_statistic is None:
            raise ValueError("give at least one of psi, ks_statistic and js_distance")
        return self


class MeasurementsIn(_Checked):
    measurements: list[MeasurementIn] = Field(min_length=1, max_length=10_000)


class ReferenceFeaturePublic(BaseModel):
    feature: str
    type: FeatureType
    count: int = Field(description="Non-null values.")
    null_rate: float
    edges: list[float] | None = Field(description="Interior bin edges of a numeric feature.")
    bin_counts: list[float] | None
    sample_size: int | None = Field(description="Values kept for the KS test.")
    categories: dict[str, int] | None = Field(description="Frequencies of a categorical feature.")


class ReferencePublic(BaseModel):
    service: str
    version: int
    rows: int
    created_at: datetime
    created_by: str
    features: list[ReferenceFeaturePublic]


class MeasurementPublic(BaseModel):
    feature: str
    type: FeatureType | None
    observed_at: datetime
    source: Literal["batch", "external"]
    batch_id: int | None
    reference_version: int | None
    psi: float | None
    js_distance: float | None
    ks_statistic: float | None
    ks_pvalue: float | None
    chi2_statistic: float | None
    chi2_pvalue: float | None
    null_rate: float | None
    count: int | None


class BatchPublic(BaseModel):
    id: int
    service: str
    batch_id: str | None
    reference_version: int
    observed_at: datetime
    rows: int
    duplicate: bool = Field(description="True when this batch_id was stored before: nothing new.")
    features: list[MeasurementPublic] = Field(description="Most drifted (highest PSI) first.")


class MeasurementsResult(BaseModel):
    accepted: int


class MeasurementsPublic(BaseModel):
    data: list[MeasurementPublic]
    count: int


class DriftPublic(BaseModel):
    service: str
    reference: ReferencePublic | None
    latest: list[MeasurementPublic] = Field(
        description="Each feature's newest measurement, most drifted (highest PSI) first."
    )
    history: MeasurementsPublic = Field(description="Measurements, newest first.")


class HealthSloPublic(BaseModel):
    id: int
    name: str
    kind: str
    objective: float
    window: str
    state: Literal["ok", "warning", "exhausted", "no_data"]
    sli: float | None
    budget_remaining: float | None
    burn_rates: dict[str, float | None]
    alerts: list[FiringTierPublic] = Field(description="Burn-rate tiers firing now.")
    evaluated_until: datetime | None
    last_error: str | None
    labels: LabelCoveragePublic | None = Field(
        default=None,
        description="A performance SLO with min_coverage: the label coverage of the last "
        "period judged (missing: labels are not arriving).",
    )
    url: str


class FeatureHealthPublic(BaseModel):
    feature: str
    type: FeatureType | None
    observed_at: datetime
    psi: float | None
    js_distance: float | None
    ks_statistic: float | None
    chi2_pvalue: float | None
    null_rate: float | None
    reference_null_rate: float | None = Field(
        description="The feature's null rate in the reference."
    )
    statistic: str | None = Field(description="What the service's drift SLO judges it by.")
    value: float | None = Field(description="That statistic's latest value.")
    threshold: float | None = Field(description="The value it must stay under.")
    drifted: bool | None = Field(description="At or over its threshold; null without a drift SLO.")


class DriftHealthPublic(BaseModel):
    reference_version: int | None
    last_measured_at: datetime | None
    features: list[FeatureHealthPublic] = Field(
        description="Most drifted first: over their threshold first, then by value over "
        "threshold (by PSI without a drift SLO)."
    )


class AccuracyHealthPublic(BaseModel):
    slo: str
    baseline: float
    tolerance: float
    floor: float = Field(description="baseline x (1 - tolerance): the accuracy to stay at or over.")
    current: float | None = Field(description="The accuracy now, from Prometheus.")
    meets: bool | None = Field(description="current >= floor; null when current is unknown.")
    attainment: float | None = Field(description="Share of the window's slices at or over floor.")
    error: str | None = Field(description="Why current is unknown (e.g. Prometheus unreachable).")


class ModelHealthPublic(BaseModel):
    """What an ML on-call engineer looks at first, for one model."""

    service: str
    state: Literal["ok", "warning", "exhausted", "no_data"] = Field(
        description="The worst state of its SLOs."
    )
    slos: list[HealthSloPublic] = Field(description="Worst first.")
    drift: DriftHealthPublic
    prediction_drift: DriftHealthPublic = Field(
        description="The predictions' latest drift (features prediction and score), each hour "
        "of logged predictions against the prediction reference: the early warning before "
        "labels come."
    )
    accuracy: list[AccuracyHealthPublic]
