"""Segments: deployed definitions, membership, and the outbox of enters and exits.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

``segments`` holds every deployed workspace segment (its rule as JSON, its refresh
cron, a checksum). ``segment_members`` has one row per (segment, customer) ever a
member: ``exited_at`` is NULL while they are one (the SQL rule compiler reads it by
name). ``segment_changes`` is the outbox of enters and exits: written in the
transaction that changed the membership, marked once the journeys were told.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("rule", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("refresh", sa.String(128), nullable=True),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.String(128), primary_key=True),
        sa.Column(
            "customer_id",
            sa.String(64),
            sa.ForeignKey("customers.id", name="fk_segment_members_customer_id_customers"),
            primary_key=True,
        ),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("exited_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_segment_members_customer_id", "segment_members", ["customer_id"])
    op.create_table(
        "segment_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("segment_id", sa.String(128), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("entered", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_segment_changes_customer_id", "segment_changes", ["customer_id"])
    op.create_index("ix_segment_changes_dispatched_at", "segment_changes", ["dispatched_at"])


def downgrade() -> None:
    op.drop_index("ix_segment_changes_dispatched_at", table_name="segment_changes")
    op.drop_index("ix_segment_changes_customer_id", table_name="segment_changes")
    op.drop_table("segment_changes")
    op.drop_index("ix_segment_members_customer_id", table_name="segment_members")
    op.drop_table("segment_members")
    op.drop_table("segments")
