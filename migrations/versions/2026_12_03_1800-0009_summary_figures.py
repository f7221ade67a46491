"""summary figures: the kept summary's figures the SLA pages list, as columns of slo

The overview lists every SLO at each render: its summary's end, SLI, budget left, burn rate
over the last hour and whether a page fires. Read from the JSON summary, Postgres parsed each
document once per field, which took longer than the rest of the page at 10,000 SLOs. The
upgrade fills the columns from the summaries kept so far.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 18:00:00
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("summary_until", "summary_sli", "summary_remaining", "summary_burn_rate_1h",
           "summary_paging")  # fmt: skip
SLO = sa.table(
    "slo",
    sa.column("id", sa.Integer),
    sa.column("summary", sa.Text),
    sa.column("summary_until", sa.DateTime(timezone=True)),
    sa.column("summary_sli", sa.Float),
    sa.column("summary_remaining", sa.Float),
    sa.column("summary_burn_rate_1h", sa.Float),
    sa.column("summary_paging", sa.Boolean),
)


def upgrade() -> None:
    with op.batch_alter_table("slo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("summary_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("summary_sli", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("summary_remaining", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("summary_burn_rate_1h", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("summary_paging", sa.Boolean(), nullable=True))
    connection = op.get_bind()
    naive = connection.dialect.name == "sqlite"  # SQLite keeps UTC without a zone
    kept = connection.execute(
        sa.select(SLO.c.id, sa.cast(SLO.c.summary, sa.Text)).where(SLO.c.summary.is_not(None))
    ).all()
    for slo_id, text in kept:
        if text is None or text == "null":
            continue
        values = figures(json.loads(text), naive=naive)
        connection.execute(SLO.update().where(SLO.c.id == slo_id).values(**values))


def figures(summary: dict[str, Any], *, naive: bool) -> dict[str, Any]:
    until = summary.get("evaluated_until")
    at = datetime.fromisoformat(until).astimezone(UTC) if until else None
    return {
        "summary_until": at.replace(tzinfo=None) if at and naive else at,
        "summary_sli": summary.get("sli"),
        "summary_remaining": summary.get("remaining"),
        "summary_burn_rate_1h": (summary.get("burn_rates") or {}).get("1h"),
        "summary_paging": summary.get("paging"),
    }


def downgrade() -> None:
    with op.batch_alter_table("slo", schema=None) as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
