"""Journey tallies per clinic, so that a clinic's staff read a journey's figures as an
admin does.

Revision ID: 0020
Revises: 0019
Create Date: 2027-03-09

Staff count only their clinics' customers, which the journey tallies do not tell apart:
their journey pages read the clinic's trace, 0.6-1 s at 100,000 customers
(``bench/README.md``, "The console"). ``enrollments.clinic`` records the clinic an
enrollment's figures are kept under (its customer's ``clinic_id`` as text, ``""`` for
none) and ``journey_clinic_tallies`` keeps the figures of ``journey_tallies`` per clinic
(``engine.store.sql.clinic_tallies``). This migration records every enrollment's
clinic from its customer now and fills the tallies from the trace already stored, with
the function the store uses, one enrollment at a time. ``ix_enrollments_clinic_journey``
(clinic, journey, status, exit reason, version, entry time): a clinic's statuses are
counted from it, and the enrollments of part of a day are found without reading the
clinic's customers. It begins with the clinic so that a journey's own figures (a
``journey_id`` alone) never take it for ``ix_enrollments_journey_cohort``, whatever
statistics the planner has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

from engine.store.sql.attributes import customer_clinic
from engine.store.sql.tables import ClinicTallyRow, CustomerRow, EnrollmentRow, TraceRow
from engine.store.sql.tallies import KEY_WIDTH, Fact, Key, entry_day, figures

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ("step", "measure", "channel", "outcome", "reason")
_WIDTHS = {"step": 128, "measure": 16}


def upgrade() -> None:
    op.add_column(
        "enrollments",
        sa.Column("clinic", sa.String(64), nullable=False, server_default=""),
    )
    op.create_table(
        "journey_clinic_tallies",
        sa.Column("journey_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("clinic", sa.String(64), primary_key=True),
        sa.Column("day", sa.DateTime(timezone=True), primary_key=True),
        *(sa.Column(name, sa.String(_WIDTHS.get(name, 64)), primary_key=True) for name in _KEY),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
    )
    conn = op.get_bind()
    clinic = (
        sa.select(customer_clinic())
        .where(CustomerRow.id == EnrollmentRow.customer_id)
        .scalar_subquery()
    )
    conn.execute(
        sa.update(EnrollmentRow).values(
            clinic=sa.func.coalesce(sa.func.substr(clinic, 1, KEY_WIDTH), "")
        )
    )
    _fill(conn)
    op.create_index(
        "ix_enrollments_clinic_journey",
        "enrollments",
        ["clinic", "journey_id", "status", "exit_reason", "version", "started_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_enrollments_clinic_journey", table_name="enrollments")
    op.drop_table("journey_clinic_tallies")
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_column("clinic")


Daily = tuple[str, int, str, datetime, Key]


def _fill(conn: sa.Connection) -> None:
    """Tally every stored enrollment's trace under its clinic, in batches of rows."""
    totals: Counter[Daily] = Counter()
    latest: dict[Daily, datetime] = {}
    for (journey, version, clinic, started, status), facts in _enrollments(conn):
        day = entry_day(started)
        for key, n in figures(facts, status).items():
            at = (journey, version, clinic, day, key)
            totals[at] += n
            if key[1] == "arm":
                latest[at] = max(latest.get(at, started), started)
    rows = [
        {
            "journey_id": journey,
            "version": version,
            "clinic": clinic,
            "day": day,
            **dict(zip(_KEY, key, strict=True)),
            "n": n,
            "last_at": latest.get((journey, version, clinic, day, key)),
        }
        for (journey, version, clinic, day, key), n in totals.items()
        if n and clinic  # customers without a clinic: not kept (clinic_tallies)
    ]
    for i in range(0, len(rows), 1000):
        conn.execute(sa.insert(ClinicTallyRow), rows[i : i + 1000])


def _enrollments(
    conn: sa.Connection,
) -> Iterator[tuple[tuple[str, int, str, datetime, str], list[Fact]]]:
    trace, enrollments = TraceRow.__table__, EnrollmentRow.__table__
    stmt = (
        sa.select(
            enrollments.c.journey_id,
            enrollments.c.version,
            enrollments.c.clinic,
            enrollments.c.started_at,
            enrollments.c.status,
            trace.c.enrollment_id,
            trace.c.seq,
            trace.c.step,
            trace.c.kind,
            trace.c.payload,
        )
        .join(enrollments, enrollments.c.id == trace.c.enrollment_id)
        .order_by(trace.c.enrollment_id, trace.c.seq)
    )
    rows = conn.execute(stmt.execution_options(yield_per=5000))

    def whose(row: Any) -> tuple[str, str, int, str, datetime, str]:
        return (
            row.enrollment_id,
            row.journey_id,
            row.version,
            row.clinic,
            row.started_at,
            row.status,
        )

    for (_id, journey, version, clinic, started, status), group in groupby(rows, key=whose):
        facts = [Fact.of(r.seq, r.step, r.kind, r.payload or {}) for r in group]
        yield (journey, version, clinic, started, status), facts
