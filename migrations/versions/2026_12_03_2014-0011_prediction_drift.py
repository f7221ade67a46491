"""prediction drift: references and measurements of a model's predictions beside its inputs

``drift_reference.subject`` and ``drift_measurement.subject`` say whether a reference (and a
measurement) is of the model's input features (``inputs``, every row so far) or of its
predictions; ``prediction_log.drift_until`` is the end of the last hour of logged predictions
measured against the prediction reference.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 20:14:10.751424
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drift_measurement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subject", sa.String(length=16), server_default="inputs", nullable=False)
        )

    with op.batch_alter_table("drift_reference", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("subject", sa.String(length=16), server_default="inputs", nullable=False)
        )

    with op.batch_alter_table("prediction_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drift_until", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prediction_log", schema=None) as batch_op:
        batch_op.drop_column("drift_until")

    with op.batch_alter_table("drift_reference", schema=None) as batch_op:
        batch_op.drop_column("subject")

    with op.batch_alter_table("drift_measurement", schema=None) as batch_op:
        batch_op.drop_column("subject")
