"""The FastAPI application: routers, error handlers, and what lives as long as the app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from slo_service import __version__, migrate, resources
from slo_service.api import (
    audit,
    datasources,
    deployments,
    drift,
    events,
    gate,
    health,
    model_health,
    notifications,
    predictions,
    slos,
)
from slo_service.api.body_limit import BodyLimits, LimitedBodies
from slo_service.api.errors import install as install_error_handlers
from slo_service.api.pages import routes as pages
from slo_service.api.pages.render import RenderedCache
from slo_service.api.security_headers import SecurityHeaders
from slo_service.api.state import AppState, state_of
from slo_service.api.timing import TimedRequests
from slo_service.api.url_guard import RefuseNulInUrls
from slo_service.config import Settings
from slo_service.db import make_engine
from slo_service.notify import registry
from slo_service.notify.base import Notifier
from slo_service.notify.egress import EgressPolicy
from slo_service.scheduler import schedule
from slo_service.services.gate.answers import Answers
from slo_service.services.gate.cache import GateCache
from slo_service.services.metrics import KeptSloGauges, SloGauges
from slo_service.sources import datasources as datasource_config
from slo_service.sources.base import SliSource
from slo_service.sources.datasource_set import Datasources
from slo_service.sources.drift_store import DriftStoreSource
from slo_service.sources.prediction_log import PredictionLogSource

DESCRIPTION = """SLOs and error budgets for ML models in production.

Authenticate with `Authorization: Bearer <token>` (create one with `slo-service token create`).
Errors answer `{"error": "<Type>", "detail": "<what to fix>"}`; a 422 also lists each field.
A request body over its route's limit answers 413 before it is read (1 MiB; 16 MiB for events,
apply and drift measurements; 64 MiB for drift references and batches: `SLO_MAX_*_BYTES`).
"""


def datasources_for(settings: Settings) -> Datasources:
    """The configured datasources (``SLO_DATASOURCES_FILE``, or ``SLO_PROMETHEUS_URL`` as the
    ``default`` one); DatasourcesFileError when the file or one of its secrets is unusable."""
    if settings.datasources_file is None:
        plain = datasource_config.plain(
            str(settings.prometheus_url), timeout=settings.prometheus_timeout_seconds
        )
        return Datasources(plain, origin="SLO_PROMETHEUS_URL")
    path = settings.datasources_file
    return Datasources(datasource_config.load(path), origin=f"SLO_DATASOURCES_FILE {path}")


def sources_for(
    settings: Settings, engine: Engine, prometheus: Datasources | None = None
) -> dict[str, SliSource]:
    """The SLI sources that evaluation measures with, by ``sli.source`` (Prometheus SLIs
    through their datasource)."""
    return {
        "prometheus": prometheus or datasources_for(settings),
        "drift_store": DriftStoreSource(engine),
        "prediction_log": PredictionLogSource(engine),
    }


def notifiers_for(settings: Settings) -> dict[str, Notifier]:
    """The channels notifications are sent through, by a route channel's ``type``."""
    return registry.notifiers(
        pagerduty_url=str(settings.pagerduty_url),
        timeout=settings.notify_timeout_seconds,
        egress=EgressPolicy.allowing(settings.notify_allowed_networks),
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Runs the evaluation scheduler while the app serves, if the settings say so."""
    state = state_of(app)
    scheduler = (
        schedule(state.engine, state.sources, state.notifiers, state.settings)
        if state.settings.scheduler
        else None
    )
    if scheduler is not None:
        scheduler.start()
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the app; ``engine`` defaults to one for ``settings.database_url``."""
    settings = settings or Settings()
    app = FastAPI(
        title="slo-service", version=__version__, description=DESCRIPTION, lifespan=_lifespan
    )
    engine = engine or make_engine(settings.database_url, settings.database_timeouts)
    prometheus = datasources_for(settings)
    sources = sources_for(settings, engine, prometheus)
    app.state.slo = AppState(
        settings=settings,
        engine=engine,
        schema_heads=migrate.heads(),
        checker=prometheus,
        sources=sources,
        gauges=prometheus,
        datasources=prometheus,
        notifiers=notifiers_for(settings),
        pages_cache=RenderedCache(),
        gate_cache=GateCache(engine, ttl=settings.gate_cache_seconds),
        gate_answers=Answers(str(settings.public_base_url)),
        metrics=KeptSloGauges(
            SloGauges(engine, settings.layout), ttl=settings.metrics_cache_seconds
        ),
    )
    install_error_handlers(app)  # first: its 500s must be answers to every other middleware
    app.add_middleware(RefuseNulInUrls)
    api = APIRouter(prefix="/api/v1")
    # The gate first: CI asks it most, and a route found early costs less to match.
    api.include_router(gate.router)
    api.include_router(slos.router)
    api.include_router(slos.apply_router)
    api.include_router(events.router)
    api.include_router(drift.router)
    api.include_router(model_health.router)
    api.include_router(predictions.router)
    api.include_router(notifications.router)
    api.include_router(gate.services)
    api.include_router(deployments.router)
    api.include_router(audit.router)
    api.include_router(datasources.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=resources.web() / "static"), name="static")
    app.add_exception_handler(pages.SignIn, pages.sign_in_redirect)
    # Inside the timing, so that refused bodies are timed too (as 413s).
    app.add_middleware(
        LimitedBodies,
        limits=BodyLimits(
            settings.max_body_bytes, settings.max_bulk_bytes, settings.max_upload_bytes
        ),
    )
    app.add_middleware(SecurityHeaders)  # on every answer, refused bodies' 413s too
    app.add_middleware(TimedRequests)
    return app
