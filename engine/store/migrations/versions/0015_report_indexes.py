"""Indexes for the reports' range scans.

Revision ID: 0015
Revises: 0014
Create Date: 2027-01-25

The reports (``engine/store/sql/reports``) read a range of time: the first touches that
lie in it, and the events of a few names in it (funnel entries, bookings, payments,
consultations, follows). ``touches (first, at)`` finds the range's first touches
without reading every touch; ``events (name, at, customer_id)`` reads one name's
events of the range alone, with the customer for grouping, where ``(name, customer_id,
at)`` reads that name's events of all time. Measured with ``python -m bench.reports``
(``bench/README.md``, "Reports"), with the cost to ingest (``bench.ingest``) beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_touches_first_at", "touches", ["first", "at"]),
    ("ix_events_name_at_customer_id", "events", ["name", "at", "customer_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
