"""prediction log: logged predictions, their late labels, and what each hour adds up to

``prediction`` keeps each logged prediction and, once it came, its label; ``pending_label``
keeps labels that overtook their prediction; ``performance_hour`` keeps, per service, model
version and hour, the counts and the tally of the labeled predictions that the performance
series read; ``prediction_log`` fixes each service's task.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 19:55:39.712915
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_label",
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("prediction_id", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("label_value", sa.Float(), nullable=True),
        sa.Column("labeled_at", sa.Float(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", "prediction_id", name=op.f("pk_pending_label")),
    )
    with op.batch_alter_table("pending_label", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_label_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "performance_hour",
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("predicted", sa.Integer(), nullable=False),
        sa.Column("labeled", sa.Integer(), nullable=False),
        sa.Column("tally", sa.JSON(), nullable=True),
        sa.Column("delays", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint(
            "service", "model_version", "hour", name=op.f("pk_performance_hour")
        ),
    )
    op.create_table(
        "prediction",
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("prediction_id", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("predicted", sa.String(length=200), nullable=True),
        sa.Column("predicted_value", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("label_value", sa.Float(), nullable=True),
        sa.Column("labeled_at", sa.Float(), nullable=True),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("service", "prediction_id", name=op.f("pk_prediction")),
    )
    with op.batch_alter_table("prediction", schema=None) as batch_op:
        batch_op.create_index("ix_prediction_service_ts", ["service", "ts"], unique=False)

    op.create_table(
        "prediction_log",
        sa.Column("service", sa.String(length=63), nullable=False),
        sa.Column("task", sa.String(length=16), nullable=False),
        sa.Column("positive_class", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("service", name=op.f("pk_prediction_log")),
    )


def downgrade() -> None:
    op.drop_table("prediction_log")
    with op.batch_alter_table("prediction", schema=None) as batch_op:
        batch_op.drop_index("ix_prediction_service_ts")

    op.drop_table("prediction")
    op.drop_table("performance_hour")
    with op.batch_alter_table("pending_label", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_label_received_at"))

    op.drop_table("pending_label")
