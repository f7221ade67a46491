"""The SLA pages, rendered on the server (Jinja2, inline SVG charts, no JavaScript): ``/``,
``/slos/{ref}``, ``/reports/monthly`` (and ``.csv``), and ``/login``.

Pages are read with a token of the read scope like the API: from an ``Authorization`` header
(an auth proxy in front can add it), or from the HttpOnly cookie that ``/login`` sets; with
``SLO_PUBLIC_READ`` they need none. Without one, a page redirects to ``/login``.
"""

import threading
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from slo_service.api.deps import SessionDep, SettingsDep, bearer_token
from slo_service.db import utcnow
from slo_service.domain.scopes import Scope
from slo_service.errors import InvalidInput, SloServiceError
from slo_service.services import overview, report, slo_page, slos, tokens
from slo_service.web import charts

WEB = Path(__file__).resolve().parent.parent / "web"
COOKIE = "slo_token"
REFRESH_SECONDS = 60
REPORT_REFRESH_SECONDS = 300  # a month's report changes slowly, and only the current one
templates = Jinja2Templates(directory=WEB / "templates")


def trend_words(values: list[float | None]) -> str:
    """A sparkline of budget fractions in words, for screen readers: first, last, lowest."""
    known = [v for v in values if v is not None]
    if not known:
        return "no data"
    return f"from {known[0]:.0%} to {known[-1]:.0%}, lowest {min(known):.0%}"


_STATES = {
    "ok": ("✓", "Meeting"), "warning": ("!", "At risk"),
    "exhausted": ("✕", "Breached"), "no_data": ("?", "No data"),
}  # fmt: skip
_MUTED_DASH = Markup('<span class="muted">—</span>')


def pct(value: float | None, digits: int = 2) -> Markup | str:
    """A fraction as a percent, or a dash without data (filters beat macros: 1,000 rows)."""
    return _MUTED_DASH if value is None else f"{value * 100:.{digits}f}%"


def rate(value: float | None) -> Markup | str:
    return _MUTED_DASH if value is None else f"{value:.1f}\u00d7"  # the multiplication sign


def state_badge(state: str) -> Markup:
    icon, words = _STATES[state]
    return Markup(
        f'<span class="badge state-{state}"><span aria-hidden="true">{icon}</span> {words}</span>'
    )


templates.env.filters.update(pct=pct, rate=rate)
templates.env.globals.update(
    state_badge=state_badge,
    sparkline=charts.sparkline,
    budget_bar=charts.budget_bar,
    state_of=charts.state_of,
    trend_words=trend_words,
)
router = APIRouter(include_in_schema=False)


class RenderedCache:
    """The overview as this process rendered it last, per period, kept ``ttl`` seconds: the
    page reads every SLO (a second for a thousand), and it is the same for every reader."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, *, ttl: float) -> bytes | None:
        with self._lock:
            found = self._kept.get(key)
        if found is None or time.monotonic() - found[0] >= ttl:
            return None
        return found[1]

    def put(self, key: str, body: bytes) -> None:
        with self._lock:
            self._kept[key] = (time.monotonic(), body)


class SignIn(Exception):
    """The page needs a token: go to the sign-in page, then back."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _reader(request: Request, session: SessionDep, public_read: bool) -> None:
    token = bearer_token(request) or request.cookies.get(COOKIE)
    try:
        tokens.caller(session, token, Scope.READ, public_read=public_read)
    except SloServiceError:
        query = f"?{request.url.query}" if request.url.query else ""
        raise SignIn(request.url.path + query) from None


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, {"now": utcnow(), "refresh": REFRESH_SECONDS, **context}
    )


@router.get("/", response_class=HTMLResponse)
def overview_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    period: Annotated[str, Query()] = "window",
) -> Response:
    _reader(request, session, settings.public_read)
    if period not in overview.PERIODS:
        raise InvalidInput.at(("query", "period"), f"one of {', '.join(overview.PERIODS)}")
    cache: RenderedCache = request.app.state.pages_cache
    kept = cache.get(period, ttl=settings.pages_cache_seconds)
    if kept is not None:
        return HTMLResponse(kept)
    view = overview.overview(session, key=period, now=utcnow(), layout=settings.layout)
    page = _page(request, "overview.html", view=view, periods=overview.PERIODS)
    cache.put(period, bytes(page.body))
    return page


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
    month: Annotated[str | None, Query(description="YYYY-MM; last month by default")] = None,
) -> Response:
    _reader(request, session, settings.public_read)
    data = report.report(session, month=month, now=utcnow(), layout=settings.layout)
    return _page(request, "report.html", data=data, refresh=REPORT_REFRESH_SECONDS)


@router.get("/reports/monthly.csv")
def monthly_report_csv(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    month: Annotated[str | None, Query()] = None,
) -> Response:
    _reader(request, session, settings.public_read)
    data = report.report(session, month=month, now=utcnow(), layout=settings.layout)
    return PlainTextResponse(
        report.as_csv(data),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="sla-report-{data.month}.csv"'},
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    return _page(request, "login.html", next=_local(next), error=None, refresh=None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        tokens.caller(session, token.strip(), Scope.READ, public_read=False)
    except SloServiceError as exc:
        page = _page(request, "login.html", next=_local(next), error=exc.detail, refresh=None)
        page.status_code = 401
        return page
    answer = RedirectResponse(_local(next), status_code=303)
    answer.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict",
                      secure=request.url.scheme == "https", max_age=30 * 86400)  # fmt: skip
    return answer


@router.get("/logout")
def logout() -> Response:
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(COOKIE)
    return answer


def _local(path: str) -> str:
    """Only paths on this site: a sign-in never sends the reader elsewhere."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def sign_in_redirect(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignIn)
    return RedirectResponse(f"/login?next={quote(exc.path, safe='')}", status_code=303)
