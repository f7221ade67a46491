"""After an evaluation: each SLO's budget and burn rates, kept on the SLO, its alerts'
transitions with their notifications, and the gate state of its service brought up to date
in the same transaction."""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from slo_service.domain.blocks import Layout
from slo_service.domain.summary import Summary, SummaryTier
from slo_service.models import SLO
from slo_service.repositories import policy as policy_repo
from slo_service.repositories import slos as slo_repo
from slo_service.services import status
from slo_service.services.alerting import follow as alerting
from slo_service.services.gate import state as gate

ACTOR = "evaluation"


def update(session: Session, slos: Sequence[SLO], *, now: datetime, layout: Layout) -> None:
    """Summarize ``slos`` as evaluated successfully at ``now``; refresh their services' gates."""
    # The statuses read policies and buckets, none of the SLOs' own changes (those are read
    # from the objects): the SLOs are flushed once, with their summaries.
    with session.no_autoflush:
        services = policy_repo.policies(session, {slo.service for slo in slos})
        policies = {
            slo.id: gate.effective(slo, services.get(slo.service)) for slo in slos if slo.id
        }
        current_of = status.statuses(
            session, slos, now=now, layout=layout, policies=policies, services=services
        )
    for slo in slos:
        assert slo.id is not None
        current = current_of[slo.id]
        kept = Summary(
            evaluated_at=now,
            evaluated_until=current.evaluated_until,
            sli=current.sli,
            remaining=current.error_budget.remaining,
            consumed=current.error_budget.consumed,
            burn_rates=current.burn_rates,
            paging=any(alert.severity == "page" for alert in current.alerts),
            tiers=tuple(
                SummaryTier(
                    severity=tier.severity,
                    long_window=tier.long_window,
                    short_window=tier.short_window,
                    factor=tier.factor,
                    firing=tier.firing,
                )
                for tier in current.alerting.tiers
            ),
            state=current.state,
            time_to_exhaustion_seconds=current.time_to_exhaustion_seconds,
        )
        slo.summary = kept.stored()
        slo.summary_until, slo.summary_sli = kept.evaluated_until, kept.sli
        slo.summary_remaining, slo.summary_paging = kept.remaining, kept.paging
        slo.summary_burn_rate_1h = kept.burn_rates.get("1h")
        if slo.sli.get("source") in slo_repo.SUMMARIZED_EACH_CYCLE:
            # Pushed buckets are written as events arrive, and performance ones are judged a
            # label delay behind: being summarized is their evaluation of this cycle.
            slo.last_success_at = now
        session.add(slo)
    session.flush()
    alerting.follow(session, slos, current_of, now=now)
    gate.refresh(session, {slo.service for slo in slos}, now=now, actor=ACTOR)


def follow_failed(session: Session, slos: Sequence[SLO], *, now: datetime, layout: Layout) -> None:
    """Alerts of SLOs whose evaluation failed: their summaries stay as they were (the gate must
    see them age), but a source that stays silent still raises their no-data tickets."""
    if not slos:
        return
    services = policy_repo.policies(session, {slo.service for slo in slos})
    policies = {slo.id: gate.effective(slo, services.get(slo.service)) for slo in slos if slo.id}
    current_of = status.statuses(
        session, slos, now=now, layout=layout, policies=policies, services=services
    )
    alerting.follow(session, slos, current_of, now=now)
