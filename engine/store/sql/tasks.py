"""Deliveries (the at-most-once record of provider calls) and handoff tasks."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from engine.contracts.journey import TraceEntry
from engine.errors import Conflict, NotFound
from engine.store.records import DeliveryRecord, HandoffTask, PendingSignal
from engine.store.sql.common import SqlPart
from engine.store.sql.enrollments import insert_trace
from engine.store.sql.retries import insert_pending_signal
from engine.store.sql.tables import DeliveryRow, TaskRow

OPEN_STATUSES = ("open", "claimed", "escalated")


class DeliveriesPart(SqlPart):
    def begin_delivery(
        self, record: DeliveryRecord, trace: list[TraceEntry] | None = None
    ) -> DeliveryRecord | None:
        """Store ``record`` and return None, or return the record already under its key.

        One statement decides the race: of two workers inserting the same key, exactly
        one inserts. A record whose outcome was ``transient`` (never reached the
        provider) is taken over by one conditional update, so one retry calls again.
        """
        values = record.model_dump()
        with self._db.write() as s, s.begin():
            insert_trace(self._db, s, record.enrollment_id, trace or [])
            if self._db.insert_ignore(s, DeliveryRow, [values]):
                return None
            retake = s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.key == record.key, DeliveryRow.outcome == "transient")
                .values(values)
                .returning(DeliveryRow.key)
                .execution_options(synchronize_session=False)
            )
            if retake.first() is not None:
                return None
            row = s.get_one(DeliveryRow, record.key, populate_existing=True)
            return DeliveryRecord.model_validate(row, from_attributes=True)

    def end_delivery(self, key: str, outcome: str, detail: str, provider_ref: str | None) -> None:
        with self._db.write() as s, s.begin():
            row = s.get(DeliveryRow, key)
            if row is None:
                raise NotFound(f"no delivery under key {key!r}")
            row.status, row.outcome, row.detail, row.provider_ref = (
                "done",
                outcome,
                detail,
                provider_ref,
            )

    def find_delivery(self, provider_ref: str, channel: str) -> DeliveryRecord | None:
        """The delivery a provider's receipt refers to (by its msgid / SerialNo)."""
        stmt = (
            select(DeliveryRow)
            .where(DeliveryRow.provider_ref == provider_ref, DeliveryRow.channel == channel)
            .order_by(DeliveryRow.at.desc())
            .limit(1)
        )
        with self._db.read() as s, s.begin():
            row = s.scalars(stmt).first()
            return None if row is None else DeliveryRecord.model_validate(row, from_attributes=True)


class TasksPart(SqlPart):
    def create_task(self, task: HandoffTask, trace: list[TraceEntry] | None = None) -> HandoffTask:
        """Create the task once per id (activity retries repeat it); the stored task.
        ``trace``: the enrollment's pending trace entries, stored in the same write."""
        if not task.id:
            task = task.model_copy(update={"id": f"T-{secrets.token_hex(5)}"})
        with self._db.write() as s, s.begin():
            insert_trace(self._db, s, task.enrollment_id, trace or [])
            self._db.insert_ignore(s, TaskRow, [task.model_dump()])
            return _task(s.get_one(TaskRow, task.id))

    def get_task(self, task_id: str) -> HandoffTask:
        with self._db.read() as s, s.begin():
            return _task(_get(s, task_id))

    def claim_task(self, task_id: str, who: str) -> HandoffTask:
        """Give an open or escalated task to ``who`` (again: no change)."""
        with self._db.write() as s, s.begin():
            row = _get(s, task_id, lock=True)
            if row.status == "done":
                raise Conflict(f"handoff task {task_id} is already done ({row.outcome})")
            if row.status == "claimed" and row.claimed_by != who:
                raise Conflict(f"handoff task {task_id} is claimed by {row.claimed_by}")
            row.status, row.claimed_by = "claimed", who
            return _task(row)

    def escalate_task(self, task_id: str, queue: str) -> HandoffTask:
        """Move an unfinished task to ``queue``; a task done meanwhile stays done."""
        with self._db.write() as s, s.begin():
            row = _get(s, task_id, lock=True)
            if row.status != "done":
                row.status, row.escalated_to, row.claimed_by = "escalated", queue, None
            return _task(row)

    def complete_task(self, task_id: str, outcome: str) -> HandoffTask:
        """Record the outcome; repeating the same outcome is a no-op, another one a Conflict."""
        with self._db.write() as s, s.begin():
            row = _get(s, task_id, lock=True)
            if row.status == "done":
                if row.outcome != outcome:
                    raise Conflict(f"handoff task {task_id} is already done ({row.outcome})")
                return _task(row)
            row.status, row.outcome = "done", outcome
            return _task(row)

    def complete_task_signal(
        self, task_id: str, outcome: str, note: str | None, *, at: datetime
    ) -> tuple[HandoffTask, PendingSignal]:
        """``complete_task``, and in the same transaction the ``handoff_outcome`` signal
        kept until Temporal took it (once per task: a repeat finds the first)."""
        with self._db.write() as s, s.begin():
            row = _get(s, task_id, lock=True)
            if row.status == "done" and row.outcome != outcome:
                raise Conflict(f"handoff task {task_id} is already done ({row.outcome})")
            row.status, row.outcome = "done", outcome
            signal = insert_pending_signal(
                self._db,
                s,
                key=f"handoff:{task_id}",
                enrollment_id=row.enrollment_id,
                customer_id=row.customer_id,
                name="handoff_outcome",
                payload={"task_id": task_id, "outcome": outcome, "note": note},
                at=at,
            )
            return _task(row), signal

    def list_tasks(self, queue: str | None = None) -> list[HandoffTask]:
        """Every task (of the queue it was created in), oldest first."""
        stmt = select(TaskRow).order_by(TaskRow.created_at, TaskRow.id)
        if queue is not None:
            stmt = stmt.where(TaskRow.queue == queue)
        with self._db.read() as s, s.begin():
            return [_task(r) for r in s.scalars(stmt)]

    def list_open_tasks(
        self, queue: str | None = None, clinics: list[str] | None = None
    ) -> list[HandoffTask]:
        """Unfinished tasks, soonest due first; escalated ones under their new queue.

        ``clinics`` (a staff key's clinics) keeps the tasks of those clinics only.
        """
        stmt = select(TaskRow).where(TaskRow.status.in_(OPEN_STATUSES))
        if queue is not None:
            stmt = stmt.where(
                or_(
                    TaskRow.escalated_to == queue,
                    (TaskRow.escalated_to.is_(None)) & (TaskRow.queue == queue),
                )
            )
        if clinics is not None:
            stmt = stmt.where(TaskRow.clinic.in_(clinics))
        stmt = stmt.order_by(
            TaskRow.due_at.is_(None), TaskRow.due_at, TaskRow.created_at, TaskRow.id
        )
        with self._db.read() as s, s.begin():
            return [_task(r) for r in s.scalars(stmt)]


def _get(s: Session, task_id: str, *, lock: bool = False) -> TaskRow:
    row = s.get(TaskRow, task_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"no handoff task {task_id!r}")
    return row


def _task(row: TaskRow) -> HandoffTask:
    return HandoffTask.model_validate(row, from_attributes=True)
