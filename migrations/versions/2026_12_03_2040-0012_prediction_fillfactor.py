"""prediction fillfactor: room on each page of ``prediction`` for its label

A prediction's label comes later, as an update of its row. With full pages (Postgres's
default fillfactor, 100) every such update writes the new row version to another page and
both indexes again; with room left on the page it stays there without touching the indexes
(a heap-only update: the label columns are in no index), which makes labeling cheaper and
leaves less behind for vacuum. SQLite has no such setting.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 20:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLFACTOR = 75


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE prediction SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE prediction RESET (fillfactor)")
