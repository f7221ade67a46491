"""How the SLA pages render: the Jinja2 environment over ``web/templates`` with its filters
and globals (percentages, burn rates, state badges, the SVG charts), and the kept copy of the
overview."""

import threading
import time
from collections import OrderedDict

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from slo_service import resources
from slo_service.api.pages import charts

WEB = resources.web()
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


class RenderedCache:
    """The overview as this process rendered it last, per period and filter, kept ``ttl``
    seconds: it is the same for every reader. At most ``size`` copies are kept (the oldest
    goes first): a reader trying many filters cannot make the process hold more."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._kept: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, *, ttl: float) -> bytes | None:
        with self._lock:
            found = self._kept.get(key)
        if found is None or time.monotonic() - found[0] >= ttl:
            return None
        return found[1]

    def put(self, key: str, body: bytes) -> None:
        with self._lock:
            self._kept.pop(key, None)
            self._kept[key] = (time.monotonic(), body)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
