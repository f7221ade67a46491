"""one alert per SLO and severity, no-data alerts, freeze routing

Until 0006 each burn-rate tier of an SLO was an alert of its own (dedup key
``slo-<id>-<severity>-<long>-<short>``). From here an SLO has one ``page`` and one ``ticket``
alert (any of the severity's tiers firing) and a ``nodata`` ticket. The firing per-tier alerts
of an SLO and severity become one alert, without sending anything: the earliest keeps its dedup
key (so its repeats and resolve reach the incident a channel already has), records its tiers,
and lists the others' keys, which its resolve closes on PagerDuty too. The others are marked
resolved. Later episodes use ``slo-<id>-<severity>``.

Routes take alerts, freeze news or both (``events``). Routes that took tickets before, had no
PagerDuty channel and were not limited to pages keep getting freeze news; no PagerDuty route
does unless it asks.

Every live SLO's ``data_until`` starts at the upgrade: the no-data alert counts from there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIRING = sa.text("state = 'firing'")

alert = sa.table(
    "alert",
    sa.column("id", sa.Integer),
    sa.column("slo_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("dedup_key", sa.String),
    sa.column("severity", sa.String),
    sa.column("long_window", sa.String),
    sa.column("short_window", sa.String),
    sa.column("state", sa.String),
    sa.column("started_at", sa.DateTime(timezone=True)),
    sa.column("resolved_at", sa.DateTime(timezone=True)),
    sa.column("factor", sa.Float),
    sa.column("long_burn_rate", sa.Float),
    sa.column("short_burn_rate", sa.Float),
    sa.column("tiers", sa.JSON),
    sa.column("also_resolves", sa.JSON),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
route = sa.table(
    "notification_route",
    sa.column("id", sa.Integer),
    sa.column("severities", sa.JSON),
    sa.column("channels", sa.JSON),
    sa.column("events", sa.JSON),
)


def _tier(row: Any) -> dict[str, Any]:
    return {
        "severity": row.severity, "long_window": row.long_window,
        "short_window": row.short_window, "factor": row.factor,
        "long_burn_rate": row.long_burn_rate, "short_burn_rate": row.short_burn_rate,
    }  # fmt: skip


def _merge_alerts(connection: sa.Connection, now: datetime) -> None:
    rows = connection.execute(sa.select(alert).order_by(alert.c.started_at, alert.c.id)).all()
    groups: dict[tuple[int, str], list[Any]] = {}
    for row in rows:
        if row.state == "firing":
            groups.setdefault((row.slo_id, row.severity), []).append(row)
        else:
            connection.execute(
                alert.update()
                .where(alert.c.id == row.id)
                .values(name=row.severity, tiers=[_tier(row)], also_resolves=[])
            )
    for (_, severity), firing in groups.items():
        kept, others = firing[0], firing[1:]
        connection.execute(
            alert.update()
            .where(alert.c.id == kept.id)
            .values(
                name=severity,
                tiers=[_tier(row) for row in firing],
                also_resolves=[row.dedup_key for row in others],
            )
        )
        for row in others:
            merged = {
                "name": severity, "tiers": [_tier(row)], "also_resolves": [],
                "state": "resolved", "resolved_at": now, "updated_at": now,
            }  # fmt: skip
            connection.execute(alert.update().where(alert.c.id == row.id).values(**merged))


def _route_events(connection: sa.Connection) -> None:
    for row in connection.execute(sa.select(route)).all():
        paged = any(channel.get("type") == "pagerduty" for channel in row.channels or [])
        took_tickets = not row.severities or "ticket" in row.severities
        events = ["alerts", "freeze"] if took_tickets and not paged else ["alerts"]
        connection.execute(route.update().where(route.c.id == row.id).values(events=events))


def upgrade() -> None:
    now = datetime.now(UTC)
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("inhibited", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("tiers", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("also_resolves", sa.JSON(), nullable=True))
    with op.batch_alter_table("notification_route", schema=None) as batch_op:
        batch_op.add_column(sa.Column("events", sa.JSON(), nullable=True))
    with op.batch_alter_table("service_policy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alerting", sa.JSON(), nullable=True))
    with op.batch_alter_table("slo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("data_until", sa.DateTime(timezone=True), nullable=True))

    connection = op.get_bind()
    _merge_alerts(connection, now)
    _route_events(connection)
    policy = sa.table("service_policy", sa.column("alerting", sa.JSON))
    connection.execute(policy.update().values(alerting={}))
    slo = sa.table(
        "slo",
        sa.column("data_until", sa.DateTime(timezone=True)),
        sa.column("deleted_at", sa.DateTime(timezone=True)),
    )
    connection.execute(slo.update().where(slo.c.deleted_at.is_(None)).values(data_until=now))

    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.alter_column("name", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("inhibited", existing_type=sa.Boolean(), server_default=None)
        batch_op.alter_column("tiers", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("also_resolves", existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column("long_window")
        batch_op.drop_column("short_window")
        batch_op.drop_column("factor")
        batch_op.drop_column("long_burn_rate")
        batch_op.drop_column("short_burn_rate")
        batch_op.create_index(
            "uq_alert_slo_id_name_firing",
            ["slo_id", "name"],
            unique=True,
            sqlite_where=_FIRING,
            postgresql_where=_FIRING,
        )
    with op.batch_alter_table("notification_route", schema=None) as batch_op:
        batch_op.alter_column("events", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("service_policy", schema=None) as batch_op:
        batch_op.alter_column("alerting", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    """Back to one alert per tier: each alert keeps its first tier's windows; nothing is sent."""
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("uq_alert_slo_id_name_firing", sqlite_where=_FIRING,
                            postgresql_where=_FIRING)  # fmt: skip
        batch_op.add_column(sa.Column("long_window", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("short_window", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("factor", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("long_burn_rate", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("short_burn_rate", sa.Float(), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(alert)).all():
        first = (row.tiers or [{}])[0] if row.tiers else {}
        connection.execute(
            alert.update()
            .where(alert.c.id == row.id)
            .values(
                long_window=first.get("long_window", ""),
                short_window=first.get("short_window", ""),
                factor=first.get("factor", 0.0),
                long_burn_rate=first.get("long_burn_rate"),
                short_burn_rate=first.get("short_burn_rate"),
            )
        )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.alter_column("long_window", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("short_window", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("factor", existing_type=sa.Float(), nullable=False)
        batch_op.drop_column("also_resolves")
        batch_op.drop_column("tiers")
        batch_op.drop_column("held_until")
        batch_op.drop_column("inhibited")
        batch_op.drop_column("name")
    with op.batch_alter_table("slo", schema=None) as batch_op:
        batch_op.drop_column("data_until")
    with op.batch_alter_table("service_policy", schema=None) as batch_op:
        batch_op.drop_column("alerting")
    with op.batch_alter_table("notification_route", schema=None) as batch_op:
        batch_op.drop_column("events")
