"""``/api/v1/alerts``, ``/api/v1/notification-routes`` and ``/api/v1/notifications``."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from slo_service.api.deps import Admin, Reader, SessionDep, SettingsDep
from slo_service.api.params import Offset, ServiceFilter
from slo_service.api.state import state_of
from slo_service.db import utcnow
from slo_service.notify.base import Notifier
from slo_service.repositories import alerts as alert_repo
from slo_service.schemas.errors import error_responses
from slo_service.schemas.notify import (
    AlertsPublic,
    ChannelTestResult,
    NotificationsPublic,
    RouteIn,
    RoutePublic,
    RoutesPublic,
)
from slo_service.services.alerting import routes

router = APIRouter(tags=["notifications"], responses=error_responses(401, 403))
RouteRef = Annotated[str, Path(description="The route's id or name.")]


async def get_notifiers(request: Request) -> dict[str, Notifier]:
    return state_of(request.app).notifiers


Notifiers = Annotated[dict[str, Notifier], Depends(get_notifiers)]


@router.get("/alerts")
def list_alerts(
    session: SessionDep,
    _caller: Reader,
    service: ServiceFilter = None,
    resolved_within: Annotated[
        int, Query(ge=0, le=24 * 30, description="Hours back for resolved alerts.")
    ] = 24,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AlertsPublic:
    """Each SLO's page, ticket and no-data alerts that fire (a ticket inhibited by its SLO's
    page says so) and those resolved within ``resolved_within`` hours, newest first."""
    since = utcnow() - timedelta(hours=resolved_within)
    rows = alert_repo.alerts(session, service=service, resolved_since=since, limit=limit)
    return AlertsPublic(data=[routes.alert_public(r) for r in rows], count=len(rows))


@router.get("/notification-routes")
def list_routes(session: SessionDep, _caller: Reader) -> RoutesPublic:
    """Every route in matching order; channels show their type and name, never secrets."""
    rows = alert_repo.routes(session)
    return RoutesPublic(data=[routes.public(r) for r in rows], count=len(rows))


@router.post(
    "/notification-routes",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409, 422),
)
def create_route(
    body: RouteIn, session: SessionDep, notifiers: Notifiers, caller: Admin
) -> RoutePublic:
    """Add a route; its channels' settings are checked, stored, and not shown again. A Slack
    or webhook URL must lead to public addresses only (loopback, private, link-local and the
    like are refused, unless in SLO_NOTIFY_ALLOWED_NETWORKS), and its host name must exist."""
    row = routes.create(session, routes.checked(body, notifiers), actor=caller.name, now=utcnow())
    return routes.public(row)


@router.get("/notification-routes/{ref}", responses=error_responses(404))
def get_route(ref: RouteRef, session: SessionDep, _caller: Reader) -> RoutePublic:
    """One route."""
    return routes.public(routes.resolve(session, ref))


@router.put("/notification-routes/{ref}", responses=error_responses(404, 409, 422))
def replace_route(
    ref: RouteRef, body: RouteIn, session: SessionDep, notifiers: Notifiers, caller: Admin
) -> RoutePublic:
    """Replace a route whole, its channels' secrets included (they are write-only); its URLs
    are checked as when it was added."""
    row = routes.resolve(session, ref)
    checked = routes.checked(body, notifiers)
    return routes.public(routes.replace(session, row, checked, actor=caller.name, now=utcnow()))


@router.delete(
    "/notification-routes/{ref}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
def delete_route(ref: RouteRef, session: SessionDep, caller: Admin) -> Response:
    """Delete a route; its undelivered notifications become dead."""
    routes.delete(session, routes.resolve(session, ref), actor=caller.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/notification-routes/{ref}/test", responses=error_responses(404))
def send_route_test(
    ref: RouteRef,
    session: SessionDep,
    settings: SettingsDep,
    notifiers: Notifiers,
    _caller: Admin,
) -> list[ChannelTestResult]:
    """Send a test message to each of the route's channels now, and say what each answered:
    its HTTP status, or why nothing was sent (never what the receiver wrote back)."""
    row = routes.resolve(session, ref)
    return routes.send_test(row, notifiers, base_url=str(settings.public_base_url), now=utcnow())


@router.get("/notifications")
def list_notifications(
    session: SessionDep,
    _caller: Reader,
    state: Annotated[
        str | None,
        Query(pattern="^(pending|delivered|dead)$", description="pending, delivered or dead"),
    ] = None,
    service: ServiceFilter = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> NotificationsPublic:
    """The delivery log, newest first: each message for each channel, its tries, its last
    error, and the dead letters (``state=dead``)."""
    rows, count = alert_repo.notifications(
        session, state=state, service=service, limit=limit, offset=offset
    )
    return NotificationsPublic(data=[routes.notification_public(r) for r in rows], count=count)
