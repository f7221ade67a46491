"""What lives as long as the app: settings, the engine, the SLI sources and checkers, the
notifiers and the per-process caches, as one typed object on ``app.state.slo``.

``create_app`` builds it; the routers and their dependencies read it with ``state_of``."""

from dataclasses import dataclass

from sqlalchemy import Engine

from slo_service.api.pages.render import RenderedCache
from slo_service.config import Settings
from slo_service.notify.base import Notifier
from slo_service.services.gate.answers import Answers
from slo_service.services.gate.cache import GateCache
from slo_service.services.metrics import KeptSloGauges
from slo_service.sources.base import GaugeReader, QueryChecker, SliSource
from slo_service.sources.datasource_set import Datasources


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    schema_heads: set[str]  # the revisions the code expects (``/readyz`` compares)
    checker: QueryChecker  # checks an SLO's queries when it is saved
    sources: dict[str, SliSource]  # what evaluation measures with, by ``sli.source``
    gauges: GaugeReader  # the model view's current accuracy
    datasources: Datasources  # ``GET /api/v1/datasources``: each one and its last query
    notifiers: dict[str, Notifier]  # by a route channel's ``type``
    pages_cache: RenderedCache
    gate_cache: GateCache
    gate_answers: Answers
    metrics: KeptSloGauges  # ``/metrics``' kept copy


def state_of(app: object) -> AppState:
    """The state of an app ``create_app`` built (``request.app``, or a test client's ``app``)."""
    state = getattr(getattr(app, "state", None), "slo", None)
    if not isinstance(state, AppState):
        raise TypeError(f"{app!r} was not built by slo_service.app.create_app")
    return state
