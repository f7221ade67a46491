"""Pushed events: validated one by one, stored once per event_id, counted into buckets at once.

A batch keeps its good events and reports each bad one; a retried push counts nothing twice.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from slo_service.db import utcnow
from slo_service.domain.blocks import Layout, epoch, instant
from slo_service.domain.budget import Counts
from slo_service.domain.series import Buckets
from slo_service.errors import InvalidInput, SloServiceError
from slo_service.models import SLO
from slo_service.repositories import events as event_repo
from slo_service.repositories import slos as slo_repo
from slo_service.schemas.events import EventIn
from slo_service.services import buckets, slos

MAX_FUTURE = timedelta(minutes=5)
MAX_AGE = timedelta(days=400)


@dataclass
class Ingested:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


def record(
    session: Session, slo_id: int, events: Sequence[tuple[str, datetime, Counts]], *, layout: Layout
) -> int:
    """Store events (event_id, timestamp, counts) for one SLO; returns how many were new."""
    received = utcnow()
    rows = [
        {
            "slo_id": slo_id,
            "event_id": event_id,
            "ts": ts,
            "good": c.good,
            "total": c.total,
            "received_at": received,
        }
        for event_id, ts, c in events
    ]
    new = event_repo.insert_new(session, rows)
    bucket = layout.bucket_seconds
    values = [
        (epoch(ts) - epoch(ts) % bucket, counts)
        for event_id, ts, counts in events
        if (slo_id, event_id) in new
    ]
    summed = Buckets.summed(values, bucket)
    buckets.write(session, slo_id, summed, layout=layout, add=True)
    if summed.data_until is not None:
        slo_repo.saw_data(session, slo_id, until=instant(summed.data_until))
    return len(new)


def _target(session: Session, ref: str, cache: dict[str, SLO]) -> SLO:
    if ref not in cache:
        slo = slos.resolve(session, ref)
        if slo.sli.get("source") != "push":
            raise InvalidInput.at(
                ("slo",), f"SLO {ref!r} is measured from {slo.sli.get('source')}; push only to "
                "SLOs whose sli.source is push",
            )  # fmt: skip
        cache[ref] = slo
    return cache[ref]


def ingest(
    session: Session, items: Sequence[Mapping[str, Any]], *, layout: Layout, now: datetime
) -> Ingested:
    """Validate every item, store the good ones, and say what became of each bad one."""
    result = Ingested()
    targets: dict[str, SLO] = {}
    valid: dict[int, list[tuple[str, datetime, Counts]]] = {}
    for index, item in enumerate(items):
        try:
            event = EventIn.model_validate(item)
            if not now - MAX_AGE <= event.timestamp <= now + MAX_FUTURE:
                raise InvalidInput.at(("timestamp",), "must lie within the last 400 days")
            slo = _target(session, event.slo, targets)
        except ValidationError as exc:
            problems = InvalidInput.from_pydantic(exc).problems
        except InvalidInput as exc:
            problems = exc.problems
        except SloServiceError as exc:
            problems = [(("slo",), exc.detail)]
        else:
            assert slo.id is not None
            counts = Counts(event.good, event.total)
            valid.setdefault(slo.id, []).append((event.event_id, event.timestamp, counts))
            continue
        result.rejected.append(
            {
                "index": index,
                "event_id": item.get("event_id") if isinstance(item, Mapping) else None,
                "errors": [{"loc": list(loc), "msg": msg} for loc, msg in problems],
            }
        )
    for slo_id, events in valid.items():
        new = record(session, slo_id, events, layout=layout)
        result.accepted += new
        result.duplicates += len(events) - new
    return result
