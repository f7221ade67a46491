"""The SLA pages, rendered on the server (Jinja2, inline SVG charts, no JavaScript): ``/``,
``/slos/{ref}``, ``/reports/monthly`` (and ``.csv``), and ``/login``.

Pages are read with a token of the read scope like the API, from an ``Authorization`` header
(an auth proxy in front can add it), or with the sign-in session whose id the HttpOnly cookie
that ``/login`` sets carries (``services.sessions``: it only reads, and never holds the token);
with ``SLO_PUBLIC_READ`` they need neither. Without one, a page redirects to ``/login``.

``POST /login`` and ``POST /logout`` refuse forms posted from another site (their ``Origin``,
or ``Referer``, must be this site's), and ``/login`` also wants the form's CSRF token, which
matches a cookie only this site sets (double submit).
"""

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from slo_service.api.deps import SessionDep, SettingsDep, bearer_token
from slo_service.api.pages import charts, forms
from slo_service.api.pages.render import templates
from slo_service.api.state import state_of
from slo_service.config import Settings
from slo_service.db import utcnow
from slo_service.domain.scopes import Scope
from slo_service.errors import InvalidInput, SloServiceError, Unauthorized
from slo_service.services import listing, overview, report, sessions, slo_page, slos, tokens

SESSION_COOKIE = "slo_session"
LEGACY_COOKIE = "slo_token"  # before migration 0008 it held the API token itself: removed
REFRESH_SECONDS = 60
REPORT_REFRESH_SECONDS = 300  # a month's report changes slowly, and only the current one
MONTH_HELP = f"YYYY-MM, {report.FIRST_MONTH} to {report.LAST_MONTH}; last month by default"
router = APIRouter(include_in_schema=False)


class SignIn(Exception):
    """The page needs a token: go to the sign-in page, then back."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _reader(request: Request, session: SessionDep, public_read: bool) -> None:
    """Let a reader in (a token in the header wins over a sign-in session), or send them to
    sign in. Under SLO_PUBLIC_READ a session that ended reads as anyone does."""
    header = bearer_token(request)
    kept = request.cookies.get(SESSION_COOKIE)
    try:
        if header is None and kept:
            try:
                sessions.reader(session, kept, now=utcnow())
                return
            except Unauthorized:
                if not public_read:
                    raise
        tokens.caller(session, header, Scope.READ, public_read=public_read)
    except SloServiceError:
        query = f"?{request.url.query}" if request.url.query else ""
        raise SignIn(request.url.path + query) from None


def _signed_in(request: Request) -> bool:
    """Whether the page offers to sign out: the reader came with a sign-in cookie."""
    return SESSION_COOKIE in request.cookies


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        name,
        {"now": utcnow(), "refresh": REFRESH_SECONDS, "signed_in": _signed_in(request), **context},
    )


SEARCH_HELP = f"part of a service's name, any case (at most {listing.MAX_SEARCH} characters)"
TEAM_HELP = "the value of the team label (SLO_TEAM_LABEL) of the services to show"
STATE_HELP = f"which services to list: one of {', '.join(listing.STATES)}"
REPORT_STATE_HELP = f"which services to list: one of {', '.join(report.STATES)}"


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    period: Annotated[str, Query()] = "window",
    q: Annotated[str, Query(max_length=listing.MAX_SEARCH, description=SEARCH_HELP)] = "",
    team: Annotated[str, Query(max_length=listing.MAX_SEARCH, description=TEAM_HELP)] = "",
    state: Annotated[str, Query(description=STATE_HELP)] = "attention",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    _reader(request, session, settings.public_read)
    if period not in overview.PERIODS:
        raise InvalidInput.at(("query", "period"), f"one of {', '.join(overview.PERIODS)}")
    if state not in listing.STATES:
        raise InvalidInput.at(("query", "state"), f"one of {', '.join(listing.STATES)}")
    wanted = listing.Filter(q=q.strip(), team=team or None, state=state, page=page)
    cache = state_of(request.app).pages_cache
    # The copy is the same for every reader, but one signed in gets a sign-out button.
    key = f"{period}?{wanted.query()}" + (":signed-in" if _signed_in(request) else "")
    kept = cache.get(key, ttl=settings.pages_cache_seconds)
    if kept is not None:
        return HTMLResponse(kept)
    view = overview.overview(session, key=period, now=utcnow(), layout=settings.layout,
                             wanted=wanted, team_label=settings.team_label)  # fmt: skip
    answer = _page(request, "overview.html", view=view, periods=overview.PERIODS,
                   states=listing.STATES, team_label=settings.team_label)  # fmt: skip
    cache.put(key, bytes(answer.body))
    return answer


@router.get("/slos/{ref}", response_class=HTMLResponse)
def slo_detail(ref: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    _reader(request, session, settings.public_read)
    data = slo_page.page(session, slos.resolve(session, ref), now=utcnow(), layout=settings.layout)
    points, window = data.history.points, data.status.window
    markers = [charts.Marker(d.deployed_at, f"deploy {d.version}") for d in data.deploys]
    sli_chart = charts.time_chart(
        [(p.at, p.sli) for p in points], start=window.start, end=window.end,
        objective=data.slo.objective, objective_label=f"objective {data.slo.objective:.3%}",
        markers=markers, kind="sli", label=f"SLI over {window.spec}",
    )  # fmt: skip
    budget_chart = charts.time_chart(
        [(p.at, p.budget_remaining) for p in points], start=window.start, end=window.end,
        objective=data.warn, objective_label=f"warn at {data.warn:.0%}", markers=markers,
        kind="budget", label=f"Error budget left over {window.spec}",
    )  # fmt: skip
    return _page(request, "slo.html", data=data, sli_chart=sli_chart, budget_chart=budget_chart)


@router.get("/reports/monthly", response_class=HTMLResponse)
def monthly_report(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    month: Annotated[str | None, Query(description=MONTH_HELP)] = None,
    q: Annotated[str, Query(max_length=listing.MAX_SEARCH, description=SEARCH_HELP)] = "",
    team: Annotated[str, Query(max_length=listing.MAX_SEARCH, description=TEAM_HELP)] = "",
    state: Annotated[str, Query(description=REPORT_STATE_HELP)] = "attention",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    _reader(request, session, settings.public_read)
    if state not in report.STATES:
        raise InvalidInput.at(("query", "state"), f"one of {', '.join(report.STATES)}")
    wanted = listing.Filter(q=q.strip(), team=team or None, state=state, page=page)
    data = report.report(session, month=month, now=utcnow(), layout=settings.layout,
                         wanted=wanted, team_label=settings.team_label)  # fmt: skip
    return _page(request, "report.html", data=data, states=report.STATES,
                 team_label=settings.team_label, refresh=REPORT_REFRESH_SECONDS)  # fmt: skip


@router.get("/reports/monthly.csv")
def monthly_report_csv(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    month: Annotated[str | None, Query(description=MONTH_HELP)] = None,
    q: Annotated[str, Query(max_length=listing.MAX_SEARCH, description=SEARCH_HELP)] = "",
    team: Annotated[str, Query(max_length=listing.MAX_SEARCH, description=TEAM_HELP)] = "",
) -> Response:
    """Every SLO of the month (within the search and the team, if given)."""
    _reader(request, session, settings.public_read)
    wanted = listing.Filter(q=q.strip(), team=team or None, state="all")
    data = report.report(session, month=month, now=utcnow(), layout=settings.layout,
                         wanted=wanted, team_label=settings.team_label)  # fmt: skip
    return PlainTextResponse(
        report.as_csv(data),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sla-report-{data.month}.csv"'},
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep, next: str = "/") -> Response:
    return _login_page(request, settings, next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Check the token once and start a read-only session; the cookie carries only its id."""
    forms.refuse_other_sites(request, settings)
    if not forms.csrf_matches(request, csrf):
        error = "This sign-in form expired or was not this site's: sign in again."
        return _login_page(request, settings, next, error=error, status=403)
    now = utcnow()
    lifetime = timedelta(hours=settings.session_hours)
    try:
        started = sessions.start(session, token.strip(), lifetime=lifetime, now=now)
    except SloServiceError as exc:
        return _login_page(request, settings, next, error=exc.detail, status=exc.status_code)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # signing in again ends the session this browser had
        sessions.end(session, previous, now=now)
    answer = RedirectResponse(_local(next), status_code=303)
    max_age = max(1, int((started.expires_at - now).total_seconds()))
    answer.set_cookie(SESSION_COOKIE, started.session_id, max_age=max_age, httponly=True,
                      samesite="strict", secure=forms.secure(request))  # fmt: skip
    _forget_legacy_cookie(request, answer)
    return answer


@router.post("/logout")
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign out: the session ends on the server, and the cookie goes."""
    forms.refuse_other_sites(request, settings)
    kept = request.cookies.get(SESSION_COOKIE)
    if kept:
        sessions.end(session, kept, now=utcnow())
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="strict", secure=forms.secure(request)
    )
    _forget_legacy_cookie(request, answer)
    return answer


def _login_page(
    request: Request, settings: Settings, next: str, *, error: str | None = None, status: int = 200
) -> Response:
    """The sign-in form with this browser's CSRF token (kept, so that two tabs both work)."""
    csrf = forms.csrf_token(request)
    hours = f"{settings.session_hours:g}"
    page = _page(request, "login.html", next=_local(next), error=error, csrf=csrf,
                 session_hours=hours, refresh=None, signed_in=False)  # fmt: skip
    page.status_code = status
    page.set_cookie(forms.CSRF_COOKIE, csrf, path="/login", httponly=True, samesite="strict",
                    secure=forms.secure(request))  # fmt: skip
    return page


def _forget_legacy_cookie(request: Request, answer: Response) -> None:
    if LEGACY_COOKIE in request.cookies:
        answer.delete_cookie(LEGACY_COOKIE)


def _local(path: str) -> str:
    """Only paths on this site: a sign-in never sends the reader elsewhere."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def sign_in_redirect(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignIn)
    return RedirectResponse(f"/login?next={quote(exc.path, safe='')}", status_code=303)
