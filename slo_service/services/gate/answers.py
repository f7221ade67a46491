"""The gate's answer: the decision rendered as GatePublic, every SLO's reason with its
numbers and links, kept as JSON while only the clock could change it."""

from datetime import datetime

from pydantic import TypeAdapter

from slo_service.domain import gate
from slo_service.domain.gate import ChangeType, ServiceState
from slo_service.schemas.gate import FreezePublic, GatePublic, GateReasonPublic, OverridePublic


def public(verdict: gate.Verdict, *, base_url: str, decided_at: datetime) -> GatePublic:
    """The gate's answer: the decision, every SLO's reason with its numbers and links."""
    base = base_url.rstrip("/")
    service = verdict.service
    return GatePublic(
        decision=verdict.decision,
        service=service,
        change_type=verdict.change_type,
        frozen=verdict.frozen,
        bypass=verdict.bypass,
        override_id=verdict.override.id if verdict.override else None,
        exempt_change_types=sorted(verdict.exempt),
        reasons=[
            GateReasonPublic(
                slo_id=r.slo.slo_id,
                slo=f"{service}:{r.slo.name}",
                verdict=r.verdict,
                cause=r.cause,
                detail=r.detail,
                budget_remaining=r.slo.remaining,
                threshold=r.threshold,
                burn_rates=r.slo.burn_rates,
                stale=r.stale,
                evaluated_at=r.slo.evaluated_at,
                url=f"{base}/slos/{r.slo.slo_id}",
                status_url=f"{base}/api/v1/slos/{r.slo.slo_id}/status",
            )
            for r in verdict.reasons
        ],
        overrides=[
            OverridePublic(service=service, state="active", **{k: getattr(o, k) for k in _OVERRIDE})
            for o in verdict.overrides
        ],
        freezes=[
            FreezePublic(
                id=f.id,
                service=service,
                cause=f.cause,
                slo=f"{service}:{f.slo_name}" if f.slo_name else None,
                reason=f.reason,
                started_at=f.started_at,
                started_by=f.started_by,
                lifted_at=None,
                lifted_by=None,
                lift_reason=None,
            )
            for f in verdict.freezes
        ],
        evaluated_at=verdict.evaluated_at,
        decided_at=decided_at,
    )


class Answers:
    """The gate's answers as JSON, each kept for as long as nothing but the clock can change
    it (``domain.gate.steady_until``) and its service's state is the same copy: a busy gate
    then decides and renders an answer once, not per request. ``decided_at``, the answer's
    last field, is always the time of the request. Used from the event loop only."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._kept: dict[tuple[str, ChangeType], tuple[ServiceState, datetime, bytes]] = {}

    def json(self, state: ServiceState, change_type: ChangeType, now: datetime) -> bytes:
        key = (state.service, change_type)
        kept = self._kept.get(key)
        if kept is not None and kept[0] is state and now < kept[1]:
            head = kept[2]
        else:
            verdict = gate.decide(state, change_type=change_type, now=now)
            body = public(verdict, base_url=self.base_url, decided_at=now).model_dump_json()
            head = body[: body.rindex(_DECIDED_AT)].encode()
            self._kept[key] = (state, gate.steady_until(state, now), head)
        return head + _DECIDED_AT.encode() + _INSTANT.dump_json(now) + b"}"


_DECIDED_AT = ',"decided_at":'
_INSTANT = TypeAdapter(datetime)


_OVERRIDE = ("id", "reason", "change_type", "ticket", "expires_at", "created_at", "created_by")
