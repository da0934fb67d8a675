"""Costs from ad platforms, per day and dimensions.

Revision ID: 0014
Revises: 0013
Create Date: 2027-01-20

``costs`` holds one row per day and dimensions (UTM fields, channel, activity, clinic;
"" for a dimension a row does not name, so the unique key works alike on SQLite and
PostgreSQL, where NULLs would never clash). A row sent again for the same day and
dimensions replaces the stored one. Amounts are integer fen: exact on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSIONS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "channel",
    "activity",
    "clinic_id",
)


def upgrade() -> None:
    op.create_table(
        "costs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("date", sa.Date(), nullable=False),
        *(sa.Column(name, sa.String(100), nullable=False) for name in DIMENSIONS),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=True),
        sa.Column("clicks", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.UniqueConstraint("date", *DIMENSIONS, name="uq_costs_date_dimensions"),
    )


def downgrade() -> None:
    op.drop_table("costs")
