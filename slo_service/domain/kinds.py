"""SLO kinds as templates: a kind and its params expand into an explicit SLI spec.

The metric names are those ML serving code exports (the README's "SLOs" section lists
them); any field of the expanded spec can be overridden, or the whole spec replaced, through
``sli``.
"""

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from slo_service.domain.sli import (
    SLI_ADAPTER,
    TIMESLICE_SLIS,
    DriftStoreSli,
    DriftSubject,
    LatencySli,
    PerformanceParams,
    PredictionLogSli,
    PushSli,
    RatioSli,
    SliSpec,
    Statistic,
    ThresholdSli,
)
from slo_service.errors import InvalidInput


class Kind(StrEnum):
    AVAILABILITY = "availability"
    LATENCY = "latency"
    MODEL_FRESHNESS = "model_freshness"
    ACCURACY = "accuracy"
    DATA_FRESHNESS = "data_freshness"
    DRIFT = "drift"
    MODEL_PERFORMANCE = "model_performance"
    CUSTOM = "custom"


class Budgeting(StrEnum):
    OCCURRENCES = "occurrences"
    TIMESLICES = "timeslices"


# A pushed SLI has no type of its own: its kind says how to budget it.
_PUSH_BUDGETING = {
    Kind.AVAILABILITY: Budgeting.OCCURRENCES,
    Kind.LATENCY: Budgeting.OCCURRENCES,
    Kind.CUSTOM: Budgeting.OCCURRENCES,
}

PREDICTIONS = "ml_predictions_total"
LATENCY_HISTOGRAM = "ml_prediction_duration_seconds"
MODEL_IS_LATEST = "ml_model_is_latest"
MODEL_DEPLOYED_AT = "ml_model_deployed_timestamp_seconds"
MODEL_ACCURACY = "ml_model_accuracy"
FEATURE_UPDATED_AT = "ml_feature_last_updated_timestamp_seconds"

_STATUS = re.compile(r"^[A-Za-z0-9_.-]+$")


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Value of the model_name label; the SLO's service by default.",
    )

    @field_validator("model_name")
    @classmethod
    def _no_quotes(cls, value: str | None) -> str | None:
        if value is not None and ('"' in value or "\\" in value):
            raise ValueError("a model name cannot contain quotes or backslashes")
        return value


class AvailabilityParams(_Params):
    error_statuses: list[Annotated[str, Field(pattern=_STATUS.pattern)]] = Field(
        default=["error"], min_length=1, description="Values of the status label that are errors."
    )


class LatencyParams(_Params):
    threshold_ms: float = Field(gt=0, le=3_600_000, description="Latency objective in ms.")


class ModelFreshnessParams(_Params):
    max_age_hours: float | None = Field(
        default=None,
        gt=0,
        description="If set, good while the deployed version is younger than this; "
        "otherwise good while the latest version serves.",
    )


class AccuracyParams(_Params):
    baseline: float = Field(gt=0, le=1, description="Validation accuracy of the model.")
    tolerance: float = Field(
        default=0.05, ge=0, lt=1, description="Relative drop allowed below the baseline."
    )


class DataFreshnessParams(_Params):
    max_age_minutes: float = Field(default=30, gt=0, description="Maximum age of the features.")


class DriftParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    statistic: Statistic = Field(
        default="psi", description="psi, ks_statistic or js_distance of each feature."
    )
    subject: DriftSubject = Field(
        default="inputs",
        description="inputs (the model's features) or predictions (prediction drift: the "
        "features prediction and score).",
        exclude_if=lambda subject: subject == "inputs",
    )
    thresholds: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="Per feature: the value it must stay under."
    )
    default_threshold: float = Field(
        default=0.2, gt=0, allow_inf_nan=False, description="For the features not in thresholds."
    )


PARAMS: dict[Kind, type[BaseModel]] = {
    Kind.AVAILABILITY: AvailabilityParams,
    Kind.LATENCY: LatencyParams,
    Kind.MODEL_FRESHNESS: ModelFreshnessParams,
    Kind.ACCURACY: AccuracyParams,
    Kind.DATA_FRESHNESS: DataFreshnessParams,
    Kind.DRIFT: DriftParams,
    Kind.MODEL_PERFORMANCE: PerformanceParams,
}


def _matcher(params: BaseModel, service: str) -> str:
    model = getattr(params, "model_name", None) or service
    return f'model_name="{model}"'


def _template(kind: Kind, params: BaseModel, service: str) -> SliSpec:
    who = _matcher(params, service)
    if isinstance(params, AvailabilityParams):
        statuses = "|".join(params.error_statuses)
        return RatioSli(
            good=f'{PREDICTIONS}{{{who},status!~"{statuses}"}}', total=f"{PREDICTIONS}{{{who}}}"
        )
    if isinstance(params, LatencyParams):
        return LatencySli(
            histogram=f"{LATENCY_HISTOGRAM}{{{who}}}", threshold_seconds=params.threshold_ms / 1000
        )
    if isinstance(params, ModelFreshnessParams):
        if params.max_age_hours is None:
            return ThresholdSli(query=f"max({MODEL_IS_LATEST}{{{who}}})", op=">=", threshold=1)
        return ThresholdSli(
            query=f"time() - max({MODEL_DEPLOYED_AT}{{{who}}})",
            op="<=",
            threshold=params.max_age_hours * 3600,
        )
    if isinstance(params, AccuracyParams):
        return ThresholdSli(
            query=f"min({MODEL_ACCURACY}{{{who}}})",
            op=">=",
            threshold=params.baseline * (1 - params.tolerance),
        )
    if isinstance(params, DataFreshnessParams):
        return ThresholdSli(
            query=f"time() - max({FEATURE_UPDATED_AT}{{{who}}})",
            op="<",
            threshold=params.max_age_minutes * 60,
        )
    if isinstance(params, DriftParams):
        return DriftStoreSli(**params.model_dump())
    if isinstance(params, PerformanceParams):
        return PredictionLogSli(**params.model_dump())
    raise AssertionError(f"no template for kind {kind}")


def _validate_sli(value: Mapping[str, Any]) -> SliSpec:
    try:
        return SLI_ADAPTER.validate_python(dict(value))
    except ValidationError as exc:
        tags = {"prometheus:ratio", "prometheus:latency", "prometheus:threshold"}
        raise InvalidInput.from_pydantic(
            exc, ("sli",), hidden=tags | {"drift_store", "prediction_log", "push"}, model=SliSpec
        ) from None


def _merge(template: SliSpec, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides replace the template's fields; another source or type replaces it whole."""
    base = template.model_dump()
    source = overrides.get("source", base["source"])
    if source != base["source"] or overrides.get("type", base.get("type")) != base.get("type"):
        return dict(overrides)
    merged = {**base, **overrides}
    if "bad" in overrides and "good" not in overrides:
        merged.pop("good", None)
    return merged


def build_sli(
    kind: Kind, params: Mapping[str, Any], overrides: Mapping[str, Any] | None, *, service: str
) -> tuple[dict[str, Any], SliSpec]:
    """Validate ``params`` for ``kind`` and expand them, applying ``overrides``.

    Returns the params with their defaults filled in and the effective SLI spec; raises
    InvalidInput naming ``params.<field>`` or ``sli.<field>``.
    """
    if kind is Kind.CUSTOM:
        if params:
            raise InvalidInput.at(("params",), "a custom SLO takes no params; describe it in 'sli'")
        if not overrides:
            raise InvalidInput.at(
                ("sli",), "a custom SLO needs an 'sli' spec, e.g. {'source': 'push'}"
            )
        return {}, _own_store(_validate_sli(overrides), service)
    try:
        parsed = PARAMS[kind].model_validate(dict(params))
    except ValidationError as exc:
        raise InvalidInput.from_pydantic(exc, ("params",)) from None
    template = _template(kind, parsed, service)
    sli = _validate_sli(_merge(template, overrides)) if overrides else template
    return parsed.model_dump(exclude_none=True), _own_store(sli, service)


def _own_store(sli: SliSpec, service: str) -> SliSpec:
    """A drift or performance SLI reads its SLO's own service's store unless it names
    another."""
    if isinstance(sli, DriftStoreSli | PredictionLogSli) and sli.service is None:
        return sli.model_copy(update={"service": service})
    return sli


def budgeting_of(kind: Kind, sli: SliSpec) -> Budgeting:
    """Occurrences for counted events, timeslices for gauges and drift."""
    if isinstance(sli, PushSli):
        return _PUSH_BUDGETING.get(kind, Budgeting.TIMESLICES)
    return Budgeting.TIMESLICES if isinstance(sli, TIMESLICE_SLIS) else Budgeting.OCCURRENCES
