"""The SLI spec: how an SLO's good and total are measured (the README's "SLOs" section
shows each type)."""

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

from slo_service.domain.promql import check_expression, check_selector

ComparisonOp = Literal["<", "<=", ">", ">=", "==", "!="]
Statistic = Literal["psi", "ks_statistic", "js_distance"]


DEFAULT_DATASOURCE = "default"
DATASOURCE_PATTERN = r"^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_default(name: str) -> bool:
    return name == DEFAULT_DATASOURCE


def _datasource() -> Any:
    """The ``datasource`` field of a Prometheus SLI: left out of its dump when it is the
    default, so SLOs that name none are stored, exported and audited as before."""
    return Field(
        default=DEFAULT_DATASOURCE,
        pattern=DATASOURCE_PATTERN,
        description="Name of the datasource to measure from (SLO_DATASOURCES_FILE); "
        "'default' when left out.",
        exclude_if=_is_default,
    )


class RatioSli(_Spec):
    """Good (or bad) and total counters; the engine sums their increase per bucket."""

    source: Literal["prometheus"] = "prometheus"
    type: Literal["ratio"] = "ratio"
    datasource: str = _datasource()
    good: str | None = Field(default=None, description="Series selector of good events.")
    bad: str | None = Field(default=None, description="Series selector of bad events.")
    total: str = Field(description="Series selector of all events.")

    @field_validator("good", "bad", "total")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value is not None:
            check_selector(value)
            return value.strip()
        return value

    @model_validator(mode="after")
    def _good_or_bad(self) -> "RatioSli":
        if (self.good is None) == (self.bad is None):
            raise ValueError("give exactly one of 'good' and 'bad' beside 'total'")
        return self


class LatencySli(_Spec):
    """A histogram: requests in the bucket ``le=threshold`` over all requests."""

    source: Literal["prometheus"] = "prometheus"
    type: Literal["latency"] = "latency"
    datasource: str = _datasource()
    histogram: str = Field(
        description="Histogram name and matchers, without _bucket/_count, e.g. "
        'http_request_duration_seconds{job="api"}'
    )
    threshold_seconds: float = Field(gt=0, description="Must be one of the histogram's le bounds.")

    @field_validator("histogram")
    @classmethod
    def _histogram(cls, value: str) -> str:
        check_selector(value)
        name = value.strip().split("{", 1)[0]
        if not name:
            raise ValueError("name the histogram, e.g. ml_prediction_duration_seconds")
        for suffix in ("_bucket", "_count", "_sum"):
            if name.endswith(suffix):
                raise ValueError(f"name the histogram without its {suffix} suffix")
        return value.strip()


class ThresholdSli(_Spec):
    """Timeslices: a slice is good when the expression's value meets ``op threshold``."""

    source: Literal["prometheus"] = "prometheus"
    type: Literal["threshold"] = "threshold"
    datasource: str = _datasource()
    query: str = Field(description="PromQL expression that returns one series.")
    op: ComparisonOp
    threshold: float

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        check_expression(value)
        return value.strip()

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("the threshold must be a finite number")
        return value


class DriftStoreSli(_Spec):
    """Timeslices from the drift store: good while every feature stays under its threshold."""

    source: Literal["drift_store"] = "drift_store"
    service: str | None = Field(
        default=None,
        min_length=1,
        max_length=63,
        description="Whose drift store to read; the SLO's service by default.",
    )
    statistic: Statistic = Field(
        default="psi",
        description="psi, ks_statistic or js_distance; categorical features have no KS "
        "statistic and are judged by their psi under ks_statistic.",
    )
    thresholds: dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="Per feature: the value it must stay under."
    )
    default_threshold: float = Field(
        default=0.2, gt=0, allow_inf_nan=False, description="For the features not in thresholds."
    )

    def threshold_of(self, feature: str) -> float:
        return self.thresholds.get(feature, self.default_threshold)


class PushSli(_Spec):
    """Good and total pushed to ``POST /api/v1/events``."""

    source: Literal["push"] = "push"


SLI_SOURCES_HELP = (
    "'source' must be prometheus (with 'type' ratio, latency or threshold), drift_store or push"
)


def _tag(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if not isinstance(value, dict):
        return None
    source = value.get("source", "prometheus")
    if source == "prometheus":
        return f"prometheus:{value.get('type')}"
    return str(source)


SliSpec = Annotated[
    Annotated[RatioSli, Tag("prometheus:ratio")]
    | Annotated[LatencySli, Tag("prometheus:latency")]
    | Annotated[ThresholdSli, Tag("prometheus:threshold")]
    | Annotated[DriftStoreSli, Tag("drift_store")]
    | Annotated[PushSli, Tag("push")],
    Discriminator(
        _tag, custom_error_type="invalid_sli_source", custom_error_message=SLI_SOURCES_HELP
    ),
]
SLI_ADAPTER: TypeAdapter[SliSpec] = TypeAdapter(SliSpec)

TIMESLICE_SLIS = (ThresholdSli, DriftStoreSli)


# Stored SLIs already validated, by their JSON: validating one costs ~0.1 ms, and evaluation
# reads every SLO's each minute. Specs are immutable, so SLOs with the same SLI share one.
_STORED: dict[bytes, SliSpec] = {}
_STORED_KEPT = 100_000


def stored_sli(stored: Mapping[str, Any]) -> SliSpec:
    """The spec of an SLO's stored ``sli``, validated once per distinct SLI in this process."""
    key = orjson.dumps(stored, option=orjson.OPT_SORT_KEYS)
    found = _STORED.get(key)
    if found is None:
        if len(_STORED) >= _STORED_KEPT:
            _STORED.clear()
        found = _STORED[key] = SLI_ADAPTER.validate_python(stored)
    return found
