"""Alembic migrations, up and down, on SQLite and Postgres, and in step with the models."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from slo_service import migrate
from slo_service.db import UTCDateTime, make_engine, metadata

TABLES = {"slo", "api_token", "audit_log", "push_event"}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_up_down_up(backend: str, database_factory: Callable[[str, str], str]) -> None:
    engine = make_engine(database_factory(backend, "slo_migrations"))
    try:
        assert migrate.current(engine) == set()
        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.heads()
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection), metadata)
        assert drift == [], f"models and migrations disagree: {drift}"

        migrate.downgrade(engine, "base")
        assert migrate.current(engine) == set()
        assert not TABLES & set(inspect(engine).get_table_names())

        migrate.upgrade(engine)
        assert migrate.current(engine) == migrate.heads()
    finally:
        engine.dispose()


def test_revision_files_are_dated() -> None:
    config = migrate.alembic_config()
    for revision in ScriptDirectory.from_config(config).walk_revisions():
        filename = revision.path.rsplit("/", 1)[-1]
        assert filename[:16].replace("_", "").replace("-", "").isdigit(), filename


T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _table(table: str, /, **columns: Any) -> sa.TableClause:
    """A lightweight Core table naming only the given columns (a revision's view of ``table``)."""
    return sa.table(table, *(sa.column(column, type_) for column, type_ in columns.items()))


SLO_0006 = _table(
    "slo", id=sa.Integer, service=sa.String, name=sa.String, description=sa.Text,
    labels=sa.JSON, kind=sa.String, objective=sa.Float, window=sa.String, timezone=sa.String,
    budgeting=sa.String, params=sa.JSON, sli=sa.JSON, no_data=sa.String, gate=sa.JSON,
    created_at=UTCDateTime, updated_at=UTCDateTime, data_until=UTCDateTime,
)  # fmt: skip
POLICY = _table(
    "service_policy", service=sa.String, gate=sa.JSON, exempt_change_types=sa.JSON,
    updated_at=UTCDateTime, updated_by=sa.String, alerting=sa.JSON,
)  # fmt: skip
ROUTE = _table(
    "notification_route", id=sa.Integer, name=sa.String, position=sa.Integer,
    services=sa.JSON, labels=sa.JSON, severities=sa.JSON, continue_matching=sa.Boolean,
    is_default=sa.Boolean, channels=sa.JSON, created_at=UTCDateTime, updated_at=UTCDateTime,
    updated_by=sa.String, events=sa.JSON,
)  # fmt: skip
ALERT_0006 = _table(
    "alert", id=sa.Integer, slo_id=sa.Integer, dedup_key=sa.String, service=sa.String,
    slo_name=sa.String, severity=sa.String, long_window=sa.String, short_window=sa.String,
    state=sa.String, started_at=UTCDateTime, resolved_at=UTCDateTime, factor=sa.Float,
    long_burn_rate=sa.Float, short_burn_rate=sa.Float, updated_at=UTCDateTime,
)  # fmt: skip
ALERT_0007 = _table(
    "alert", id=sa.Integer, slo_id=sa.Integer, name=sa.String, dedup_key=sa.String,
    service=sa.String, slo_name=sa.String, severity=sa.String, state=sa.String,
    started_at=UTCDateTime, resolved_at=UTCDateTime, inhibited=sa.Boolean, tiers=sa.JSON,
    also_resolves=sa.JSON, updated_at=UTCDateTime,
)  # fmt: skip
NOTIFICATION = _table(
    "notification", id=sa.Integer, idempotency_key=sa.String, route_id=sa.Integer,
    route_name=sa.String, channel=sa.Integer, channel_type=sa.String, alert_id=sa.Integer,
    event=sa.String, dedup_key=sa.String, service=sa.String, message=sa.JSON, state=sa.String,
    attempts=sa.Integer, next_attempt_at=UTCDateTime, created_at=UTCDateTime,
    delivered_at=UTCDateTime,
)  # fmt: skip


def _tier(long: str, short: str, severity: str, factor: float, rates: tuple[float, float]) -> Any:
    return {
        "severity": severity, "long_window": long, "short_window": short, "factor": factor,
        "long_burn_rate": rates[0], "short_burn_rate": rates[1],
    }  # fmt: skip


def _alert_0006(
    id_: int, severity: str, tier: dict[str, Any], *, started: datetime, resolved: datetime | None
) -> dict[str, Any]:
    return {
        "id": id_, "slo_id": 1, "service": "ml", "slo_name": "latency", "severity": severity,
        "dedup_key": f"slo-1-{severity}-{tier['long_window']}-{tier['short_window']}",
        "long_window": tier["long_window"], "short_window": tier["short_window"],
        "factor": tier["factor"], "long_burn_rate": tier["long_burn_rate"],
        "short_burn_rate": tier["short_burn_rate"],
        "state": "resolved" if resolved else "firing", "started_at": started,
        "resolved_at": resolved, "updated_at": resolved or started,
    }  # fmt: skip


PAGE_FAST = _tier("1h", "5m", "page", 14.4, (20.0, 25.0))
PAGE_SLOW = _tier("6h", "30m", "page", 6.0, (8.0, 9.5))
TICKET = _tier("1d", "2h", "ticket", 3.0, (3.5, 4.0))
PAGE_EARLIER = _tier("1h", "5m", "page", 14.4, (15.0, 16.0))


def _seed_0006(connection: sa.Connection) -> None:
    slo = {
        "id": 1, "service": "ml", "name": "latency", "description": "", "labels": {},
        "kind": "latency", "objective": 0.99, "window": "30d", "timezone": "UTC",
        "budgeting": "occurrences", "params": {}, "sli": {}, "no_data": "ignore", "gate": {},
        "created_at": T0 - timedelta(days=7), "updated_at": T0 - timedelta(days=7),
    }  # fmt: skip
    connection.execute(SLO_0006.insert().values(slo))
    connection.execute(
        POLICY.insert().values(
            service="ml", gate={}, exempt_change_types=[], updated_at=T0, updated_by="tests"
        )
    )
    route = {
        "position": 0, "services": [], "labels": {}, "continue_matching": True,
        "is_default": False, "created_at": T0, "updated_at": T0, "updated_by": "tests",
    }  # fmt: skip
    connection.execute(
        ROUTE.insert(),
        [
            {**route, "id": 1, "name": "slack", "severities": [],
             "channels": [{"type": "slack", "webhook_url": "http://127.0.0.1:9/hook"}]},
            {**route, "id": 2, "name": "pager", "position": 1, "severities": ["page"],
             "channels": [{"type": "pagerduty", "routing_key": "x"}]},
        ],
    )  # fmt: skip
    # Ids out of start order: the merge must keep the earliest-started alert, not the lowest id.
    connection.execute(
        ALERT_0006.insert(),
        [
            _alert_0006(1, "page", PAGE_EARLIER, started=T0 - timedelta(days=2),
                        resolved=T0 - timedelta(days=1)),
            _alert_0006(2, "page", PAGE_SLOW, started=T0 + timedelta(minutes=10), resolved=None),
            _alert_0006(3, "page", PAGE_FAST, started=T0, resolved=None),
            _alert_0006(4, "ticket", TICKET, started=T0 + timedelta(minutes=5), resolved=None),
        ],
    )  # fmt: skip
    delivered = {
        "id": 1, "idempotency_key": "alert-3-firing-pager-0", "route_id": 2,
        "route_name": "pager", "channel": 0, "channel_type": "pagerduty", "alert_id": 3,
        "event": "firing", "dedup_key": "slo-1-page-1h-5m", "service": "ml",
        "message": {"summary": "burning"}, "state": "delivered", "attempts": 1,
        "next_attempt_at": T0, "created_at": T0, "delivered_at": T0 + timedelta(seconds=1),
    }  # fmt: skip
    connection.execute(NOTIFICATION.insert().values(delivered))


def _count_notifications(connection: sa.Connection) -> int:
    return connection.execute(sa.select(sa.func.count()).select_from(NOTIFICATION)).scalar_one()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_0007_merges_per_tier_alerts_without_sending_anything(
    backend: str, database_factory: Callable[[str, str], str]
) -> None:
    engine = make_engine(database_factory(backend, "slo_migration_0007"))
    try:
        migrate.upgrade(engine, "0006")
        assert migrate.current(engine) == {"0006"}
        with engine.begin() as connection:
            _seed_0006(connection)
            assert _count_notifications(connection) == 1

        before = datetime.now(UTC)
        migrate.upgrade(engine, "0007")
        after = datetime.now(UTC)
        assert migrate.current(engine) == {"0007"}

        with engine.connect() as connection:
            alerts = {
                row.id: row
                for row in connection.execute(sa.select(ALERT_0007).order_by(ALERT_0007.c.id))
            }
            firing = sorted(
                (row.slo_id, row.name, row.id) for row in alerts.values() if row.state == "firing"
            )
            assert firing == [(1, "page", 3), (1, "ticket", 4)]

            kept = alerts[3]
            assert (kept.dedup_key, kept.started_at, kept.resolved_at) == (
                "slo-1-page-1h-5m",
                T0,
                None,
            )
            assert kept.tiers == [PAGE_FAST, PAGE_SLOW]
            assert kept.also_resolves == ["slo-1-page-6h-30m"]

            merged = alerts[2]
            assert (merged.name, merged.state, merged.dedup_key) == (
                "page",
                "resolved",
                "slo-1-page-6h-30m",
            )
            assert merged.resolved_at is not None
            assert before - timedelta(seconds=1) <= merged.resolved_at <= after
            assert merged.tiers == [PAGE_SLOW]
            assert merged.also_resolves == []

            ticket = alerts[4]
            assert (ticket.name, ticket.state, ticket.dedup_key, ticket.resolved_at) == (
                "ticket",
                "firing",
                "slo-1-ticket-1d-2h",
                None,
            )
            assert ticket.tiers == [TICKET]
            assert ticket.also_resolves == []

            earlier = alerts[1]
            assert (earlier.name, earlier.state, earlier.resolved_at) == (
                "page",
                "resolved",
                T0 - timedelta(days=1),
            )
            assert earlier.tiers == [PAGE_EARLIER]
            assert earlier.also_resolves == []

            assert {row.id: row.inhibited for row in alerts.values()} == {
                1: False,
                2: False,
                3: False,
                4: False,
            }

            # Nothing queued, and the delivered notification still belongs to its alert.
            assert _count_notifications(connection) == 1
            notification = connection.execute(sa.select(NOTIFICATION)).one()
            link = (notification.alert_id, notification.route_id, notification.state)
            assert link == (3, 2, "delivered")

            routes = connection.execute(sa.select(ROUTE.c.name, ROUTE.c.events))
            events = {row.name: row.events for row in routes}
            assert events == {"slack": ["alerts", "freeze"], "pager": ["alerts"]}

            data_until = connection.execute(sa.select(SLO_0006.c.data_until)).scalar_one()
            assert data_until is not None
            assert before - timedelta(seconds=1) <= data_until <= after

            assert "alerting" in {column["name"] for column in inspect(connection).get_columns(
                "service_policy"
            )}  # fmt: skip
            assert connection.execute(sa.select(POLICY.c.alerting)).scalar_one() == {}

        new_alert = {
            "slo_id": 1, "service": "ml", "slo_name": "latency", "severity": "ticket",
            "state": "firing", "started_at": after, "updated_at": after, "inhibited": False,
            "tiers": [], "also_resolves": [],
        }  # fmt: skip
        with engine.begin() as connection:  # another name of the same SLO may fire
            nodata = {**new_alert, "id": 5, "name": "nodata", "dedup_key": "slo-1-nodata"}
            connection.execute(ALERT_0007.insert().values(nodata))
        page = {**new_alert, "id": 6, "name": "page", "severity": "page", "dedup_key": "slo-1-page"}
        with (
            pytest.raises(IntegrityError, match=r"slo_id, (alert\.)?name"),
            engine.begin() as connection,
        ):
            connection.execute(ALERT_0007.insert().values(page))

        migrate.downgrade(engine, "0006")
        assert migrate.current(engine) == {"0006"}
        with engine.connect() as connection:
            assert "long_window" in {c["name"] for c in inspect(connection).get_columns("alert")}
            windows = {
                row.id: (row.long_window, row.short_window, row.factor)
                for row in connection.execute(sa.select(ALERT_0006))
            }
            assert windows == {
                1: ("1h", "5m", 14.4),
                2: ("6h", "30m", 6.0),
                3: ("1h", "5m", 14.4),  # the merged alert keeps its first tier's windows
                4: ("1d", "2h", 3.0),
                5: ("", "", 0.0),  # a no-data alert has no tier
            }
            assert _count_notifications(connection) == 1

        migrate.upgrade(engine, "0007")  # again: nothing to do
        assert migrate.current(engine) == {"0007"}
    finally:
        engine.dispose()


SLO_0009 = _table(
    "slo", id=sa.Integer, summary=sa.JSON, summary_until=UTCDateTime, summary_sli=sa.Float,
    summary_remaining=sa.Float, summary_burn_rate_1h=sa.Float, summary_paging=sa.Boolean,
)  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_0009_fills_the_summary_columns_from_the_kept_summaries(
    backend: str, database_factory: Callable[[str, str], str]
) -> None:
    engine = make_engine(database_factory(backend, "slo_migration_0009"))
    try:
        migrate.upgrade(engine, "0008")
        base = {
            "service": "ml", "description": "", "labels": {}, "kind": "latency",
            "objective": 0.99, "window": "30d", "timezone": "UTC", "budgeting": "occurrences",
            "params": {}, "sli": {}, "no_data": "ignore", "gate": {},
            "created_at": T0, "updated_at": T0,
        }  # fmt: skip
        summary = {
            "evaluated_at": "2026-12-01T10:00:05Z", "evaluated_until": "2026-12-01T10:00:00Z",
            "sli": 0.995, "remaining": 0.5, "consumed": 0.5, "paging": True,
            "burn_rates": {"5m": 2.0, "1h": 1.5, "window": 0.5}, "tiers": [], "state": "warning",
            "time_to_exhaustion_seconds": None,
        }  # fmt: skip
        with engine.begin() as connection:
            connection.execute(SLO_0006.insert().values({**base, "id": 1, "name": "kept"}))
            connection.execute(SLO_0006.insert().values({**base, "id": 2, "name": "never"}))
            connection.execute(SLO_0009.update().where(SLO_0009.c.id == 1).values(summary=summary))
        migrate.upgrade(engine, "0009")
        with engine.connect() as connection:
            rows = {row.id: row for row in connection.execute(sa.select(SLO_0009))}
        kept, never = rows[1], rows[2]
        assert (kept.summary_until, kept.summary_sli, kept.summary_remaining) == (T0, 0.995, 0.5)
        assert (kept.summary_burn_rate_1h, kept.summary_paging) == (1.5, True)
        assert (never.summary_until, never.summary_sli, never.summary_paging) == (None,) * 3
        migrate.downgrade(engine, "0008")
        assert "summary_sli" not in {c["name"] for c in inspect(engine).get_columns("slo")}
    finally:
        engine.dispose()
