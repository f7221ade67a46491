"""``/api/v1/events``: push (good, total) for SLOs with the push source."""

from fastapi import APIRouter

from slo_service.api.deps import SessionDep, SettingsDep, Writer
from slo_service.db import utcnow
from slo_service.errors import InvalidInput
from slo_service.schemas.errors import error_responses
from slo_service.schemas.events import EventsIn, EventsResult
from slo_service.services import events

router = APIRouter(prefix="/events", tags=["events"], responses=error_responses(401, 403, 422))


@router.post("")
def push_events(
    body: EventsIn, session: SessionDep, settings: SettingsDep, _caller: Writer
) -> EventsResult:
    """Store a batch of events: good items are kept, bad ones listed; all bad is a 422."""
    result = events.ingest(session, body.events, layout=settings.layout, now=utcnow())
    if len(result.rejected) == len(body.events):
        raise InvalidInput(
            [
                (("events", item["index"], *error["loc"]), error["msg"])
                for item in result.rejected
                for error in item["errors"]
            ]
        )
    return EventsResult(
        accepted=result.accepted, duplicates=result.duplicates, rejected=result.rejected
    )
