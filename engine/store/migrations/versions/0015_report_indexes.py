"""An index for the reports' first touches of a range.

Revision ID: 0015
Revises: 0014
Create Date: 2027-01-25

Every report that counts new customers reads the first touches whose time lies in its
range, and who has a first touch at all (a customer without one is first touched by
their first activity event). ``touches (first, at, customer_id)`` answers both from the
index alone: the range's first touches without reading every touch, and the customers
with a first touch without reading the table.

Measured with ``python -m bench.reports`` at 100,000 customers (``bench/README.md``,
"Reports"): acquisition, KPIs and clinics 12-15 % faster on SQLite; no measurable cost
to ingest (``bench.ingest``) nor to recording a touch. ``events (name, at, customer_id)``
was measured too and left out: it speeds up the doctors report, but SQLite's planner
then skip-scans it for the active-customers report, which became 1.5 times slower.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (("ix_touches_first_at_customer_id", "touches", ["first", "at", "customer_id"]),)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
