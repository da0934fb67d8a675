"""Event dispatch marker: an accepted event is dispatched (enrollments, signals) once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-02

``received_at`` is when carepath accepted an event; ``dispatched_at`` stays empty until
triggers and running enrollments have been told. The dispatcher's sweep retries events
left undispatched (say, Temporal was down).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("received_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_events_dispatched_at", "events", ["dispatched_at"])


def downgrade() -> None:
    op.drop_index("ix_events_dispatched_at", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("dispatched_at")
        batch.drop_column("received_at")
