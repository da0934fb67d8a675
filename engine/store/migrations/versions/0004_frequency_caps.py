"""Frequency caps: the sends counted per customer, purpose, channel, day and month.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

``frequency_slots`` holds one row per send reserved against the workspace's frequency
caps, keyed by the delivery's idempotency key (a retried activity finds its own row),
with the workspace's calendar day (``2026-03-02``) and month (``2026-03``) it falls in.
A reservation locks the customer's row, so racing sends are counted one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "frequency_slots",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_frequency_slots_customer_id_purpose_month",
        "frequency_slots",
        ["customer_id", "purpose", "month"],
    )


def downgrade() -> None:
    op.drop_index("ix_frequency_slots_customer_id_purpose_month", table_name="frequency_slots")
    op.drop_table("frequency_slots")
