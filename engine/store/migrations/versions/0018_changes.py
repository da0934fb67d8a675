"""The change log, and the index of customers' names.

Revision ID: 0018
Revises: 0017
Create Date: 2027-02-09

``changes`` keeps who changed what by hand: a journey paused or resumed, the workspace
deployed (with what changed), a channel reset, a customer tagged, enrolled or shown to
staff from the console, a user created or disabled. Rows are only appended. It is read
newest first by subject (a journey's history), by customer (the audit trail) and by
action (the deploy history), hence the three indexes ending in ``id``.

``ix_customers_name`` indexes the ``name`` attribute (``json_extract`` on SQLite,
``->>`` on PostgreSQL, written as ``engine.store.sql.names`` queries it), so the
console's search by the beginning of a name reads a range of it.

``ix_customers_clinic`` indexes the ``clinic_id`` attribute as text, written as
``engine.store.sql.journey_metrics.customer_clinic`` queries it (SQLAlchemy's
``as_string()`` with its path inline), so a staff user's journey figures read their
clinics' customers from it instead of every customer.

``ix_handoff_tasks_journey_id_step``: a journey's handoff figures read its own tasks.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.String(255), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column(
            "detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_changes"),
    )
    op.create_index("ix_changes_subject", "changes", ["subject_kind", "subject_id", "id"])
    op.create_index("ix_changes_customer", "changes", ["customer_id", "id"])
    op.create_index("ix_changes_action", "changes", ["action", "id"])
    # A journey's handoff figures read its tasks, not the table (journey_metrics).
    op.create_index("ix_handoff_tasks_journey_id_step", "handoff_tasks", ["journey_id", "step"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE INDEX ix_customers_name ON customers (json_extract(attributes, '$.name'))"
        )
    else:
        op.execute("CREATE INDEX ix_customers_name ON customers ((attributes ->> 'name'))")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE INDEX ix_customers_clinic ON customers "
            """(CAST(JSON_EXTRACT(attributes, '$."clinic_id"') AS VARCHAR))"""
        )
    else:
        op.execute("CREATE INDEX ix_customers_clinic ON customers ((attributes ->> 'clinic_id'))")


def downgrade() -> None:
    op.drop_index("ix_handoff_tasks_journey_id_step", table_name="handoff_tasks")
    op.drop_index("ix_customers_name", table_name="customers")
    op.drop_index("ix_changes_action", table_name="changes")
    op.drop_index("ix_changes_customer", table_name="changes")
    op.drop_index("ix_changes_subject", table_name="changes")
    op.drop_table("changes")
    op.drop_index("ix_customers_clinic", table_name="customers")
