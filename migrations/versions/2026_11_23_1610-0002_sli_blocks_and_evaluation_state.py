"""sli blocks and evaluation state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:10:20.675344
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sli_block",
        sa.Column("slo_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("good", sa.LargeBinary(), nullable=False),
        sa.Column("total", sa.LargeBinary(), nullable=False),
        sa.Column("good_before", sa.Float(), nullable=False),
        sa.Column("total_before", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["slo_id"], ["slo.id"], name=op.f("fk_sli_block_slo_id_slo"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("slo_id", "start", name=op.f("pk_sli_block")),
    )
    with op.batch_alter_table("slo", schema=None) as batch_op:
        batch_op.add_column(sa.Column("evaluated_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("slo", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("last_success_at")
        batch_op.drop_column("evaluated_until")

    op.drop_table("sli_block")
