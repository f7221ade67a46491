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

from slo_service.domain.performance import MetricName
from slo_service.domain.promql import check_expression, check_selector

ComparisonOp = Literal["<", "<=", ">", ">=", "==", "!="]
Statistic = Literal["psi", "ks_statistic", "js_distance"]
DriftSubject = Literal["inputs", "predictions"]


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


def _store_of(store: str) -> Any:
    """The ``service`` field of an SLI read from one of slo-service's own stores."""
    return Field(
        default=None,
        min_length=1,
        max_length=63,
        description=f"Whose {store} to read; the SLO's service by default.",
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
    service: str | None = _store_of("drift store")
    subject: DriftSubject = Field(
        default="inputs",
        description="inputs: the model's features; predictions: its predictions (classes, "
        "values, scores), measured each hour against the prediction reference.",
        exclude_if=lambda subject: subject == "inputs",  # SLOs stored before keep their form
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


LOWER_IS_BETTER = frozenset({"log_loss", "mae", "rmse"})


class PerformanceParams(_Spec):
    """How a performance SLI judges its slices (the params of the ``model_performance``
    kind): a slice is good when the model's performance, measured from the labels of its
    predictions, meets the threshold; judged only once the labels are due
    (``expected_label_delay`` after the slice)."""

    metric: MetricName = Field(description="scikit-learn's definition of the metric.")
    threshold: float = Field(
        allow_inf_nan=False,
        description="At least this (at most, for log_loss, mae and rmse) is good.",
    )
    window_size: int | None = Field(
        default=None,
        ge=10,
        le=100_000,
        description="Judge each slice by the last N labeled predictions made before its end "
        "(instead of by the predictions of its hour).",
    )
    bucket: str = Field(
        default="1h",
        pattern=r"^(?:1|2|3|4|6|8|12)h$|^1d$",
        description="Without window_size: judge each slice by the predictions of its period of "
        "this length (1h, 2h, 3h, 4h, 6h, 8h, 12h or 1d: periods tile the UTC day).",
    )
    expected_label_delay: str = Field(
        default="0m",
        pattern=r"^(?:0m|[1-9][0-9]{0,5}[mhdw])$",
        description="How long labels take to arrive: a slice is judged only this long after "
        "its end; later labels judge it again.",
    )
    min_coverage: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="The share of predictions that should be labeled once their labels are "
        "due: under it in the last period judged, a labels_missing ticket fires.",
    )
    model_version: str | None = Field(
        default=None, min_length=1, max_length=100, description="Only this model version."
    )

    @property
    def op(self) -> ComparisonOp:
        return "<=" if self.metric in LOWER_IS_BETTER else ">="


class PredictionLogSli(PerformanceParams):
    """Timeslices from the prediction log (``PerformanceParams``)."""

    source: Literal["prediction_log"] = "prediction_log"
    service: str | None = _store_of("prediction log")


class PushSli(_Spec):
    """Good and total pushed to ``POST /api/v1/events``."""

    source: Literal["push"] = "push"


SLI_SOURCES_HELP = (
    "'source' must be prometheus (with 'type' ratio, latency or threshold), drift_store, "
    "prediction_log or push"
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
    | Annotated[PredictionLogSli, Tag("prediction_log")]
    | Annotated[PushSli, Tag("push")],
    Discriminator(
        _tag, custom_error_type="invalid_sli_source", custom_error_message=SLI_SOURCES_HELP
    ),
]
SLI_ADAPTER: TypeAdapter[SliSpec] = TypeAdapter(SliSpec)

TIMESLICE_SLIS = (ThresholdSli, DriftStoreSli, PredictionLogSli)


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
