"""API shapes of the drift store and of the ML on-call view."""

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from slo_service.domain.drift_columns import FeatureType

FEATURE = Field(min_length=1, max_length=200)
COLUMNS_HELP = (
    'One list per feature, all of one length: {"age": [31, 45, null], "country": ["de", "fr", '
    "null]}; null is a missing value (counted in the null rate), NaN and infinities are refused."
)


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    timestamp: AwareDatetime | None = Field(
        default=None, description="When the batch was observed; now by default."
    )
    batch_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Unique per service: a retried batch with the same id is stored once.",
    )


class MeasurementIn(_Input):
    """One feature's drift computed by an external job; give at least one statistic."""

    feature: str = FEATURE
    timestamp: AwareDatetime
    type: FeatureType | None = None
    psi: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    js_distance: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    ks_statistic: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    ks_pvalue: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    chi2_statistic: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    chi2_pvalue: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    null_rate: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    count: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _some_statistic(self) -> Self:
        if self.psi is None and self.js_distance is None and self.ks_statistic is None:
            raise ValueError("give at least one of psi, ks_statistic and js_distance")
        return self


class MeasurementsIn(_Input):
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
