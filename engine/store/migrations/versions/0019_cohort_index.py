"""Indexes of a journey's enrollments as its figures read them.

Revision ID: 0019
Revises: 0018
Create Date: 2027-03-02

``ix_enrollments_journey_cohort`` (journey, status, exit reason, version, entry time)
replaces ``ix_enrollments_journey_id_status``, whose columns it begins with: a
journey's statuses, for a version or a range of entry times too, are counted from the
index alone and in its order (``engine.store.sql.journey_metrics``), instead of reading
every enrollment row of the journey. ``ix_enrollments_journey_id_version``: whether a
journey has enrollments of another version than the one asked for is two probes of
it (its lowest and highest version). ``ix_handoff_tasks_enrollment_id``: the handoff
figures of a clinic's cohort join its enrollments' tasks by key (and an enrollment's
tasks are found without reading the journey's).
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
        ["journey_id", "status", "exit_reason", "version", "started_at"],
    )
    op.drop_index("ix_enrollments_journey_id_status", table_name="enrollments")
    op.create_index("ix_enrollments_journey_id_version", "enrollments", ["journey_id", "version"])
    op.create_index("ix_handoff_tasks_enrollment_id", "handoff_tasks", ["enrollment_id"])


def downgrade() -> None:
    op.drop_index("ix_handoff_tasks_enrollment_id", table_name="handoff_tasks")
    op.drop_index("ix_enrollments_journey_id_version", table_name="enrollments")
    op.create_index("ix_enrollments_journey_id_status", "enrollments", ["journey_id", "status"])
    op.drop_index("ix_enrollments_journey_cohort", table_name="enrollments")
