"""Enrollments and their traces."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from typing import cast

from sqlalchemy import Insert, Table, distinct, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.contracts.journey import EnrollmentStatusName, TraceEntry
from engine.errors import NotFound
from engine.store.records import EnrollmentRecord, StepTally
from engine.store.sql.clinic_tallies import clinic_of
from engine.store.sql.common import SqlPart
from engine.store.sql.db import Sessions
from engine.store.sql.tables import DeliveryRow, EnrollmentRow, TaskRow, TraceRow
from engine.store.sql.tallies import Fact, enrolled, lock_enrollment, retally, tally_recorded

#: Trace fields with their own column; the rest travel in ``payload``.
_TRACE_COLUMNS = {"seq", "at", "step", "kind"}


class EnrollmentsPart(SqlPart):
    def record_enrollment(self, record: EnrollmentRecord) -> None:
        """Store the enrollment once; a repeat (a retried start) changes nothing."""
        with self._db.write() as s, s.begin():
            lock_enrollment(self._db, s, record.id)
            row = {**record.model_dump(), "clinic": clinic_of(s, record.customer_id)}
            if self._db.insert_ignore(s, EnrollmentRow, [row]):
                tally_recorded(self._db, s, record.id)

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
            enrollment = enrolled(self._db, s, enrollment_id)  # locked first
            if enrollment is None:
                raise NotFound(f"no enrollment {enrollment_id!r}")
            s.execute(
                update(EnrollmentRow)
                .where(EnrollmentRow.id == enrollment_id)
                .values(status=status, exit_reason=reason, variant=variant, ended_at=at)
            )
            new = _insert(self._db, s, enrollment_id, trace or [])
            retally(self._db, s, enrollment._replace(status=status), new, enrollment.status)

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

    def step_tallies(self, journey_id: str, running_at: Mapping[str, str]) -> dict[str, StepTally]:
        """Per step: enrollments that reached it (a stored trace entry there, or running
        there now: ``running_at`` maps enrollment id -> its current step, whose entries
        are stored only when its next activity runs), sends by outcome, tasks by state."""
        mine = select(EnrollmentRow.id).where(EnrollmentRow.journey_id == journey_id)
        tallies: dict[str, StepTally] = {}

        def at(step: str) -> StepTally:
            return tallies.setdefault(step, StepTally())

        with self._db.read() as s, s.begin():
            reached = (
                select(TraceRow.step, func.count(distinct(TraceRow.enrollment_id)))
                .where(TraceRow.enrollment_id.in_(mine), TraceRow.step.is_not(None))
                .group_by(TraceRow.step)
            )
            for step, n in s.execute(reached):
                if step is not None:  # excluded by the query; narrows the type
                    at(step).reached = n
            for step in _not_stored_yet(s, running_at):
                at(step).reached += 1
            outcome = func.coalesce(DeliveryRow.outcome, DeliveryRow.status)
            sends = (
                select(DeliveryRow.step, outcome, func.count())
                .where(DeliveryRow.enrollment_id.in_(mine))
                .group_by(DeliveryRow.step, outcome)
            )
            for step, key, n in s.execute(sends):
                at(step).sends[key] = n
            tasks = (
                select(TaskRow.step, TaskRow.status, func.count())
                .where(TaskRow.journey_id == journey_id)
                .group_by(TaskRow.step, TaskRow.status)
            )
            for step, key, n in s.execute(tasks):
                at(step).handoffs[key] = n
        return tallies


def _not_stored_yet(s: Session, running_at: Mapping[str, str]) -> list[str]:
    """The current steps of running enrollments with no stored trace entry there yet."""
    pending: list[str] = []
    ids = list(running_at)
    for i in range(0, len(ids), 500):  # bounded IN lists on every database
        chunk = ids[i : i + 500]
        query = (
            select(TraceRow.enrollment_id, TraceRow.step)
            .where(TraceRow.enrollment_id.in_(chunk))
            .distinct()
        )
        stored = {(e, step) for e, step in s.execute(query)}
        pending += [running_at[e] for e in chunk if (e, running_at[e]) not in stored]
    return pending


def _record(row: EnrollmentRow) -> EnrollmentRecord:
    return EnrollmentRecord.model_validate(row, from_attributes=True)


def insert_trace(db: Sessions, s: Session, enrollment_id: str, entries: list[TraceEntry]) -> None:
    """Insert trace entries in the caller's transaction; each (enrollment, seq) once.
    The journey tallies gain what the entries actually inserted add."""
    if not entries:
        return
    enrollment = enrolled(db, s, enrollment_id)  # locked first: writes take turns
    retally(db, s, enrollment, _insert(db, s, enrollment_id, entries))


def _insert(db: Sessions, s: Session, enrollment_id: str, entries: list[TraceEntry]) -> list[Fact]:
    """The entries that went in (a retried write's are there already)."""
    if not entries:
        return []
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
    added = set(s.connection().execute(_insert_trace(db.dialect), rows).scalars())
    return [Fact.entry(e) for e in entries if e.seq in added]


@cache
def _insert_trace(dialect: str) -> Insert:
    """One statement per dialect, executed with many rows (compiled once)."""
    table = cast(Table, TraceRow.__table__)
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return stmt.on_conflict_do_nothing().returning(table.c.seq)
