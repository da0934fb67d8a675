"""The outbox that cannot jam or forget: failed dispatches, pending signals, a tag's
context, and triggers a paused journey let pass.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-15

``outbox_failures`` holds one row per outbox item (an event, an added tag, a segment
enter or exit, a pending signal) whose dispatch failed: attempts, the last error, the
next attempt (backoff), and when it was parked or discarded. ``pending_signals`` keeps
handoff outcomes and cancels until Temporal took them. ``tag_history.context`` keeps
the context of the request that added a tag, so a later dispatch starts its journeys
with it. ``trigger_skips`` records a trigger that matched a paused journey.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _when(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("tag_history") as batch:
        batch.add_column(sa.Column("context", _JSON, nullable=True))
    op.create_table(
        "outbox_failures",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("item_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        _when("first_failed_at", nullable=False),
        _when("last_attempt_at", nullable=False),
        _when("next_attempt_at"),
        _when("parked_at"),
        _when("discarded_at"),
        sa.Column("discarded_by", sa.String(255), nullable=True),
    )
    op.create_index("ix_outbox_failures_next_attempt_at", "outbox_failures", ["next_attempt_at"])
    op.create_table(
        "pending_signals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("enrollment_id", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("payload", _JSON, nullable=False),
        _when("created_at", nullable=False),
        _when("dispatched_at"),
        sa.UniqueConstraint("key", name="uq_pending_signals_key"),
    )
    op.create_index("ix_pending_signals_dispatched_at", "pending_signals", ["dispatched_at"])
    op.create_table(
        "trigger_skips",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("journey_id", sa.String(128), nullable=False),
        sa.Column("trigger", sa.String(255), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        _when("at", nullable=False),
        sa.UniqueConstraint("key", name="uq_trigger_skips_key"),
    )
    op.create_index("ix_trigger_skips_customer_id_at", "trigger_skips", ["customer_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_trigger_skips_customer_id_at", table_name="trigger_skips")
    op.drop_table("trigger_skips")
    op.drop_index("ix_pending_signals_dispatched_at", table_name="pending_signals")
    op.drop_table("pending_signals")
    op.drop_index("ix_outbox_failures_next_attempt_at", table_name="outbox_failures")
    op.drop_table("outbox_failures")
    with op.batch_alter_table("tag_history") as batch:
        batch.drop_column("context")
