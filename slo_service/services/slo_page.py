"""What the SLO page shows: its status, SLI and budget over its window, the burn rate of each
tier, its alerts, its service's deploys, and the queries the engine runs for it."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from slo_service.domain.blocks import Layout
from slo_service.domain.sli import SLI_ADAPTER, DriftStoreSli, LatencySli, RatioSli, ThresholdSli
from slo_service.models import SLO, Alert, Deployment
from slo_service.repositories import alerts as alert_repo
from slo_service.repositories import deployments as deploy_repo
from slo_service.schemas.status import HistoryPublic, SLOStatusPublic, TierPublic
from slo_service.services import history, status
from slo_service.services.gate import state as gate
from slo_service.sources import plan
from slo_service.sources.prometheus import selector, split_histogram


@dataclass(frozen=True)
class SloPage:
    slo: SLO
    status: SLOStatusPublic
    history: HistoryPublic
    tiers: list[TierPublic]
    alerts: Sequence[Alert]
    deploys: list[Deployment]
    queries: list[tuple[str, str]]
    warn: float
    freeze: float


def page(session: Session, slo: SLO, *, now: datetime, layout: Layout) -> SloPage:
    policy = gate.effective_for(session, slo)
    current = status.status(session, slo, now=now, layout=layout, policy=policy)
    points = history.history(session, slo, start=None, end=None, step=None, now=now,
                             layout=layout)  # fmt: skip
    start = points.points[0].at if points.points else current.window.start
    deploys, _ = deploy_repo.list_page(session, service=slo.service, environment=None,
                                       limit=200, offset=0)  # fmt: skip
    return SloPage(
        slo=slo, status=current, history=points, tiers=current.alerting.tiers,
        alerts=alert_repo.of_slo(session, slo.id or 0, limit=50),
        deploys=[d for d in deploys if start <= d.deployed_at <= now],
        queries=expanded_queries(SLI_ADAPTER.validate_python(slo.sli), layout.bucket_seconds),
        warn=policy.warn_threshold, freeze=policy.freeze_threshold,
    )  # fmt: skip


def expanded_queries(sli: object, bucket: int) -> list[tuple[str, str]]:
    """(what, query) for each query the engine runs per bucket for ``sli``."""
    if isinstance(sli, RatioSli):
        counted = [("good", sli.good), ("bad", sli.bad), ("total", sli.total)]
        return [(name, plan.increase(text, bucket).alone) for name, text in counted if text]
    if isinstance(sli, LatencySli):
        name, matchers = split_histogram(sli.histogram)
        le = f'le="{sli.threshold_seconds:g}" (as the series spell it)'
        bucket_sel = plan.increase(selector(f"{name}_bucket", matchers), bucket).alone
        total = plan.increase(selector(f"{name}_count", matchers), bucket).alone
        return [(f"good: the bucket {le}", bucket_sel), ("total", total)]
    if isinstance(sli, ThresholdSli):
        return [(f"a slice is good while the value {sli.op} {sli.threshold:g}", sli.query)]
    if isinstance(sli, DriftStoreSli):
        return [("drift store", f"{sli.statistic} of every feature of {sli.service} under its "
                 f"threshold (default {sli.default_threshold:g})")]  # fmt: skip
    return [("pushed", "good and total pushed to POST /api/v1/events")]
