"""An index of a journey's enrollments as its figures read them.

Revision ID: 0019
Revises: 0018
Create Date: 2027-03-02

``ix_enrollments_journey_cohort`` (journey, version, status, exit reason, entry time):
a journey's statuses for a version or a range of entry times are counted from the
index alone (``engine.store.sql.journey_metrics``), instead of reading every
enrollment row of the journey; and whether a journey has enrollments of another
version than the one asked for is one probe of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_enrollments_journey_cohort",
        "enrollments",
        ["journey_id", "version", "status", "exit_reason", "started_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_enrollments_journey_cohort", table_name="enrollments")
