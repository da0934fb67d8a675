"""Guardians of minors: who may receive a child's messages (PIPL art. 31).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

``guardian_links`` holds one row per link of a customer (the minor) to a guardian
(another customer), kept when unlinked (``unlinked_at`` set) so the history stays
auditable; the current guardians are the rows without ``unlinked_at``, in link order.
Clinic holidays need no table: they are the deployed ``holidays`` document.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "guardian_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("guardian_id", sa.String(64), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("relation", sa.String(32), nullable=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unlinked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_guardian_links_customer_id", "guardian_links", ["customer_id"])
    op.create_index("ix_guardian_links_guardian_id", "guardian_links", ["guardian_id"])


def downgrade() -> None:
    op.drop_index("ix_guardian_links_guardian_id", table_name="guardian_links")
    op.drop_index("ix_guardian_links_customer_id", table_name="guardian_links")
    op.drop_table("guardian_links")
