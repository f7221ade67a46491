"""``slo-service serve``, ``worker``, ``evaluate`` and ``migrate``: running the service
and its schema."""

import gc
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy import Engine, make_url

from slo_service import migrate as migrations
from slo_service.app import create_app, notifiers_for, sources_for
from slo_service.cli.common import (
    EXIT_INVALID,
    database,
    fail,
    settings_or_exit,
)
from slo_service.config import Settings
from slo_service.db import make_engine, session_scope, utcnow
from slo_service.demo import seed as demo
from slo_service.domain.windows import parse_duration
from slo_service.errors import SloServiceError
from slo_service.models import SLO
from slo_service.repositories import slos as slo_repo
from slo_service.scheduler import demo_feeder, schedule
from slo_service.services import evaluation, slos


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo_data: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="On an empty database, create a demo model with 30 days of events; while "
            "serving, keep feeding it new events every minute.",
        ),
    ] = False,
) -> None:
    """Run the API; it migrates first (SLO_MIGRATE_ON_START) and evaluates SLOs (SLO_SCHEDULER)."""
    settings = settings_or_exit()
    with database(settings, migrated=False) as engine:
        if settings.migrate_on_start:
            migrations.upgrade(engine)
        if demo_data:
            typer.echo(_seed_demo(engine, settings))
            typer.echo("demo: for a token, run: slo-service token create --name me --scopes admin")
    engine = make_engine(settings.database_url, settings.database_timeouts)
    application = create_app(settings, engine=engine)
    feeder = demo_feeder(engine, settings) if demo_data else None
    # What is loaded by now lives as long as the process: keep it out of the collector's
    # full passes, which otherwise pause every request for tens of milliseconds.
    gc.collect()
    gc.freeze()
    if feeder is None:
        uvicorn.run(application, host=host, port=port, log_level="info")
        return
    feeder.start()
    typer.echo("demo: feeding it new events every minute while serving")
    try:
        uvicorn.run(application, host=host, port=port, log_level="info")
    finally:
        feeder.shutdown(wait=True)


def _seed_demo(engine: Engine, settings: Settings) -> str:
    """Seed the demo on an empty database; what was done (the SLOs counted as stored, not as
    listed in the seed), or how to start afresh."""
    with session_scope(engine) as session:
        if demo.seed(session, now=utcnow(), layout=settings.layout):
            count = len(slo_repo.live_in_services(session, [demo.SERVICE]))
            return f"demo: created service {demo.SERVICE!r} with {count} SLOs"
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database).absolute()
        afresh = f"stop the service, delete {path} and its -wal and -shm files if any, start again"
    else:
        afresh = "stop the service, point SLO_DATABASE_URL at an empty database, start again"
    return f"demo: the database is not empty; left it as it is (to start the demo afresh: {afresh})"


def worker() -> None:
    """Evaluate SLOs and send notifications every interval, without serving the API."""
    settings = settings_or_exit()
    engine = make_engine(settings.database_url, settings.database_timeouts)
    typer.echo(f"worker: evaluating every {settings.evaluation_interval_seconds} s")
    notifiers = notifiers_for(settings)
    schedule(engine, sources_for(settings, engine), notifiers, settings, blocking=True).start()


def evaluate(
    slo: Annotated[
        str | None,
        typer.Option(help="One SLO (id or service:name); all measured SLOs if left out."),
    ] = None,
    backfill: Annotated[
        str | None, typer.Option(help="Also re-measure this far back, e.g. 30d.")
    ] = None,
) -> None:
    """Measure SLOs now (a new SLO's whole window the first time), with a progress bar."""
    settings = settings_or_exit()
    try:
        depth = parse_duration(backfill) if backfill else None
    except ValueError as exc:
        raise fail(f"error: --backfill: {exc}") from None
    with database(settings) as engine:
        sources = sources_for(settings, engine)
        try:
            with session_scope(engine) as session:
                ids = (
                    [_id_of(slos.resolve(session, slo))] if slo else slo_repo.measured_ids(session)
                )
        except SloServiceError as exc:
            raise fail(f"error: --slo: {exc.detail}") from None
        failures = 0
        with typer.progressbar(ids, label="evaluating", show_pos=True) as bar:
            for slo_id in bar:
                with session_scope(engine) as session:
                    row = slo_repo.get(session, slo_id)
                    if row is None:
                        continue
                    outcome = evaluation.evaluate(
                        session, row, sources=sources, layout=settings.layout, backfill=depth
                    )
                if not outcome.ok:
                    failures += 1
                    typer.secho(f"\n{row.service}:{row.name}: {outcome.error}", err=True, fg="red")
    typer.echo(f"evaluated {len(ids)} SLOs, {failures} failed")
    if failures:
        raise typer.Exit(EXIT_INVALID)


def _id_of(slo: SLO) -> int:
    assert slo.id is not None
    return slo.id


def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION instead.")] = False,
) -> None:
    """Bring the database schema (SLO_DATABASE_URL) to a revision, head by default."""
    with database(settings_or_exit(), migrated=False) as engine:
        if down:
            migrations.downgrade(engine, revision)
        else:
            migrations.upgrade(engine, revision)
        typer.echo(f"schema at {', '.join(sorted(migrations.current(engine))) or 'base (empty)'}")
