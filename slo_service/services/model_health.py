"""The ML on-call view of one model: every SLO's state, its features' latest drift (most
drifted first) with their null rates against the reference, its predictions' latest drift
against the prediction reference, and its accuracy against the baseline. SLO numbers are
read as ``GET /slos/{id}/status`` reads them; the current accuracy is asked of Prometheus at
the request's instant, and an unreachable Prometheus leaves it unknown with the reason, never
the rest of the view.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from slo_service.domain.blocks import Layout, epoch
from slo_service.domain.drift_columns import FeatureType
from slo_service.domain.sli import SLI_ADAPTER, DriftStoreSli, ThresholdSli
from slo_service.errors import NotFound
from slo_service.models import SLO, DriftMeasurement
from slo_service.repositories import drift as drift_repo
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo
from slo_service.schemas.drift import (
    AccuracyHealthPublic,
    DriftHealthPublic,
    FeatureHealthPublic,
    HealthSloPublic,
    ModelHealthPublic,
)
from slo_service.schemas.status import SLOStatusPublic
from slo_service.services import status
from slo_service.services.gate import state as gate
from slo_service.sources.base import GaugeReader, SourceError

INPUTS, PREDICTIONS = "inputs", "predictions"
# Worst first: what the view's state is, and how its SLOs are ordered.
_SEVERITY = {"exhausted": 0, "warning": 1, "no_data": 2, "ok": 3}


def health(
    session: Session,
    service: str,
    *,
    now: datetime,
    layout: Layout,
    gauges: GaugeReader,
    base_url: str,
) -> ModelHealthPublic:
    slos = list(slo_repo.live_in_services(session, [service]))
    latest = drift_repo.latest_per_feature(session, service)
    predicted = drift_repo.latest_per_feature(session, service, PREDICTIONS)
    if not slos and not latest and not predicted:
        raise NotFound(f"service {service!r} has no SLOs and no drift data")
    policies = policy_repo.policies(session, [service])
    current = status.statuses(
        session, slos, now=now, layout=layout,
        policies={s.id: gate.effective(s, policies.get(service)) for s in slos if s.id},
    )  # fmt: skip
    rows = sorted(
        (_slo_row(slo, current[slo.id], base_url) for slo in slos if slo.id is not None),
        key=lambda row: (_SEVERITY[row.state], row.budget_remaining or 0.0, row.name),
    )
    return ModelHealthPublic(
        service=service,
        state=rows[0].state if rows else "no_data",
        slos=rows,
        drift=_drift(session, service, latest, _drift_sli(slos, service, INPUTS), INPUTS),
        prediction_drift=_drift(
            session, service, predicted, _drift_sli(slos, service, PREDICTIONS), PREDICTIONS
        ),
        accuracy=[
            _accuracy(slo, current[slo.id], gauges, at=epoch(now))
            for slo in slos
            if slo.kind == "accuracy" and slo.id is not None
        ],
    )


def _slo_row(slo: SLO, current: SLOStatusPublic, base_url: str) -> HealthSloPublic:
    assert slo.id is not None
    return HealthSloPublic(
        id=slo.id,
        name=slo.name,
        kind=slo.kind,
        objective=slo.objective,
        window=slo.window,
        state=current.state,
        sli=current.sli,
        budget_remaining=current.error_budget.remaining,
        burn_rates=current.burn_rates,
        alerts=current.alerts,
        evaluated_until=current.evaluated_until,
        last_error=slo.last_error,
        labels=current.labels,
        url=f"{base_url.rstrip('/')}/slos/{slo.id}",
    )


def _drift_sli(slos: Sequence[SLO], service: str, subject: str) -> DriftStoreSli | None:
    """The first drift SLO's SLI over this service's ``subject`` (inputs or predictions):
    what "drifted" means here."""
    for slo in slos:
        if slo.sli.get("source") == "drift_store":
            sli = SLI_ADAPTER.validate_python(slo.sli)
            if (
                isinstance(sli, DriftStoreSli)
                and sli.service in (None, service)
                and sli.subject == subject
            ):
                return sli
    return None


def _drift(
    session: Session,
    service: str,
    latest: Sequence[DriftMeasurement],
    sli: DriftStoreSli | None,
    subject: str,
) -> DriftHealthPublic:
    reference = drift_repo.latest_reference(session, service, subject)
    null_rates: dict[str, float] = {}
    if reference is not None and reference.id is not None:
        null_rates = {
            f.feature: f.nulls / (f.count + f.nulls)
            for f in drift_repo.features_of(session, reference.id)
        }
    features = [_feature(m, sli, null_rates.get(m.feature)) for m in latest]
    return DriftHealthPublic(
        reference_version=reference.version if reference else None,
        last_measured_at=max((m.observed_at for m in latest), default=None),
        features=sorted(features, key=_most_drifted),
    )


def _feature(
    row: DriftMeasurement, sli: DriftStoreSli | None, reference_null_rate: float | None
) -> FeatureHealthPublic:
    statistic = value = threshold = drifted = None
    if sli is not None:
        statistic = sli.statistic
        value = getattr(row, statistic)
        if value is None and row.type == "categorical":
            statistic, value = "psi", row.psi  # no KS statistic for categories
        threshold = sli.threshold_of(row.feature)
        drifted = None if value is None else value >= threshold
    return FeatureHealthPublic(
        feature=row.feature,
        type=FeatureType(row.type) if row.type else None,
        observed_at=row.observed_at,
        psi=row.psi,
        js_distance=row.js_distance,
        ks_statistic=row.ks_statistic,
        chi2_pvalue=row.chi2_pvalue,
        null_rate=row.null_rate,
        reference_null_rate=reference_null_rate,
        statistic=statistic,
        value=value,
        threshold=threshold,
        drifted=drifted,
    )


def _most_drifted(feature: FeatureHealthPublic) -> tuple[bool, float, str]:
    if feature.threshold is not None and feature.value is not None:
        return (not feature.drifted, -feature.value / feature.threshold, feature.feature)
    return (True, -(feature.psi or 0.0), feature.feature)


def _accuracy(
    slo: SLO, current: SLOStatusPublic, gauges: GaugeReader, *, at: int
) -> AccuracyHealthPublic:
    baseline = float(slo.params["baseline"])
    tolerance = float(slo.params.get("tolerance", 0.05))
    floor = baseline * (1 - tolerance)
    sli = SLI_ADAPTER.validate_python(slo.sli)
    value: float | None = None
    error: str | None = None
    if isinstance(sli, ThresholdSli):
        try:
            value = gauges.latest(sli.query, at=at)
        except SourceError as exc:
            error = str(exc)
    else:
        error = f"measured from {sli.source}, not a Prometheus gauge"
    return AccuracyHealthPublic(
        slo=f"{slo.service}:{slo.name}",
        baseline=baseline,
        tolerance=tolerance,
        floor=floor,
        current=value,
        meets=None if value is None else value >= floor,
        attainment=current.sli,
        error=error,
    )
