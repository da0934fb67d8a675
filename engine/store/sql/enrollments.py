"""Enrollments and their traces."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.contracts.journey import EnrollmentStatusName, TraceEntry
from engine.errors import NotFound
from engine.store.records import EnrollmentRecord
from engine.store.sql.common import SqlPart
from engine.store.sql.db import Sessions
from engine.store.sql.tables import EnrollmentRow, TraceRow

#: Trace fields with their own column; the rest travel in ``payload``.
_TRACE_COLUMNS = {"seq", "at", "step", "kind"}


class EnrollmentsPart(SqlPart):
    def record_enrollment(self, record: EnrollmentRecord) -> None:
        """Store the enrollment once; a repeat (a retried start) changes nothing."""
        with self._db.write() as s, s.begin():
            self._db.insert_ignore(s, EnrollmentRow, [record.model_dump()])

    def get_enrollment(self, enrollment_id: str) -> EnrollmentRecord:
        with self._db.read() as s, s.begin():
            row = s.get(EnrollmentRow, enrollment_id)
            if row is None:
                raise NotFound(f"no enrollment {enrollment_id!r}")
            return _record(row)

    def ever_enrolled(self, journey_id: str, customer_id: str, key: str | None) -> bool:
        stmt = select(EnrollmentRow.id).where(
            EnrollmentRow.journey_id == journey_id,
            EnrollmentRow.customer_id == customer_id,
            EnrollmentRow.key.is_(None) if key is None else EnrollmentRow.key == key,
        )
        with self._db.read() as s, s.begin():
            return s.scalar(stmt.limit(1)) is not None

    def finish_enrollment(
        self,
        enrollment_id: str,
        status: EnrollmentStatusName,
        reason: str | None,
        variant: str | None,
        at: datetime,
        trace: list[TraceEntry] | None = None,
    ) -> None:
        """Record how the enrollment ended, with its last trace entries, in one write."""
        with self._db.write() as s, s.begin():
            row = s.get(EnrollmentRow, enrollment_id)
            if row is None:
                raise NotFound(f"no enrollment {enrollment_id!r}")
            row.status, row.exit_reason, row.variant, row.ended_at = status, reason, variant, at
            insert_trace(self._db, s, enrollment_id, trace or [])

    def list_enrollments(
        self,
        *,
        customer_id: str | None = None,
        journey_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[EnrollmentRecord]:
        """Enrollments matching every filter given, most recently started first."""
        stmt = select(EnrollmentRow)
        if customer_id is not None:
            stmt = stmt.where(EnrollmentRow.customer_id == customer_id)
        if journey_id is not None:
            stmt = stmt.where(EnrollmentRow.journey_id == journey_id)
        if status is not None:
            stmt = stmt.where(EnrollmentRow.status == status)
        stmt = stmt.order_by(EnrollmentRow.started_at.desc(), EnrollmentRow.id).limit(limit)
        with self._db.read() as s, s.begin():
            return [_record(r) for r in s.scalars(stmt)]

    def append_trace(self, enrollment_id: str, entries: list[TraceEntry]) -> None:
        """Append entries; a retried activity carries them again and each seq stays once."""
        if not entries:
            return
        with self._db.write() as s, s.begin():
            insert_trace(self._db, s, enrollment_id, entries)

    def get_trace(self, enrollment_id: str) -> list[TraceEntry]:
        with self._db.read() as s, s.begin():
            rows = s.scalars(
                select(TraceRow)
                .where(TraceRow.enrollment_id == enrollment_id)
                .order_by(TraceRow.seq)
            )
            return [
                TraceEntry(seq=r.seq, at=r.at, step=r.step, kind=r.kind, **r.payload) for r in rows
            ]

    def step_counts(self, journey_id: str) -> dict[str, dict[str, int]]:
        """{step: {trace kind: entries}} over every enrollment of the journey."""
        stmt = (
            select(TraceRow.step, TraceRow.kind, func.count())
            .join(EnrollmentRow, EnrollmentRow.id == TraceRow.enrollment_id)
            .where(EnrollmentRow.journey_id == journey_id, TraceRow.step.is_not(None))
            .group_by(TraceRow.step, TraceRow.kind)
        )
        counts: dict[str, dict[str, int]] = {}
        with self._db.read() as s, s.begin():
            for step, kind, n in s.execute(stmt):
                if step is not None:  # excluded by the query; narrows the type
                    counts.setdefault(step, {})[kind] = n
        return counts


def _record(row: EnrollmentRow) -> EnrollmentRecord:
    return EnrollmentRecord.model_validate(row, from_attributes=True)


def insert_trace(db: Sessions, s: Session, enrollment_id: str, entries: list[TraceEntry]) -> None:
    """Insert trace entries in the caller's transaction; each (enrollment, seq) once."""
    if not entries:
        return
    rows = [
        {
            "enrollment_id": enrollment_id,
            "seq": e.seq,
            "at": e.at,
            "step": e.step,
            "kind": e.kind,
            "payload": e.model_dump(mode="json", exclude=_TRACE_COLUMNS, exclude_none=True),
        }
        for e in entries
    ]
    s.execute(db.insert(TraceRow).values(rows).on_conflict_do_nothing())
