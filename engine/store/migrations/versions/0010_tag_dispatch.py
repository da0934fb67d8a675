"""Tag dispatch marker: an added tag reaches the ``tag_added`` triggers once.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

``tag_history.dispatched_at`` stays empty for an added tag until the deployed
``tag_added`` journeys have been enrolled on it; the dispatcher's sweep acts on those
left empty: tags a journey step added in the worker, and tags added while Temporal
could not be reached. Removals start nothing and are stored dispatched; so is the
history written before this revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tag_history") as batch:
        batch.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE tag_history SET dispatched_at = at")
    op.create_index("ix_tag_history_dispatched_at", "tag_history", ["dispatched_at"])


def downgrade() -> None:
    op.drop_index("ix_tag_history_dispatched_at", table_name="tag_history")
    with op.batch_alter_table("tag_history") as batch:
        batch.drop_column("dispatched_at")
