"""Journey tallies: a journey's trace figures per entry day, kept as the trace is written.

Revision ID: 0016
Revises: 0015
Create Date: 2027-01-26

A journey's metrics read every trace row of the cohort: about three seconds at 100,000
enrollments on either database (``bench/README.md``, "Reports"). ``journey_tallies``
holds the same figures summed per journey, version and entry day (UTC), and the store adds
to it in the transaction that writes the trace (``engine.store.sql.tallies``). This
migration fills it from the trace already stored, with the same function the store
uses, streaming one enrollment at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa
from alembic import op

from engine.store.sql.tables import EnrollmentRow, TallyRow, TraceRow
from engine.store.sql.tallies import Fact, Key, entry_day, figures

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ("step", "measure", "channel", "outcome", "reason")
_WIDTHS = {"step": 128, "measure": 16}


def upgrade() -> None:
    op.create_table(
        "journey_tallies",
        sa.Column("journey_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("day", sa.DateTime(timezone=True), primary_key=True),
        *(sa.Column(name, sa.String(_WIDTHS.get(name, 64)), primary_key=True) for name in _KEY),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
    )
    _fill(op.get_bind())


def downgrade() -> None:
    op.drop_table("journey_tallies")


Daily = tuple[str, int, datetime, Key]


def _fill(conn: sa.Connection) -> None:
    """Tally every stored enrollment's trace, in batches of rows."""
    totals: Counter[Daily] = Counter()
    latest: dict[Daily, datetime] = {}
    for (journey, version, started, status), facts in _enrollments(conn):
        day = entry_day(started)
        for key, n in figures(facts, status).items():
            at = (journey, version, day, key)
            totals[at] += n
            if key[1] == "arm":
                latest[at] = max(latest.get(at, started), started)
    rows = [
        {
            "journey_id": journey,
            "version": version,
            "day": day,
            **dict(zip(_KEY, key, strict=True)),
            "n": n,
            "last_at": latest.get((journey, version, day, key)),
        }
        for (journey, version, day, key), n in totals.items()
        if n
    ]
    for i in range(0, len(rows), 1000):
        conn.execute(sa.insert(TallyRow), rows[i : i + 1000])


def _enrollments(
    conn: sa.Connection,
) -> Iterator[tuple[tuple[str, int, datetime, str], list[Fact]]]:
    trace, enrollments = TraceRow.__table__, EnrollmentRow.__table__
    stmt = (
        sa.select(
            enrollments.c.journey_id,
            enrollments.c.version,
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

    def whose(row: Any) -> tuple[str, str, int, datetime, str]:
        return (row.enrollment_id, row.journey_id, row.version, row.started_at, row.status)

    for (_id, journey, version, started, status), group in groupby(rows, key=whose):
        facts = [Fact.of(r.seq, r.step, r.kind, r.payload or {}) for r in group]
        yield (journey, version, started, status), facts
