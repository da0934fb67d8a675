"""The event log: storing events once per message id, reading them back, and the
dispatch outbox (events accepted but not yet handed to triggers and enrollments).

:func:`insert_event` works inside a caller's transaction, so ingest stores an event in
the same write that resolves its customer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from engine.models.segment_index import Touch
from engine.store.records import NewEvent, StoredEvent
from engine.store.sql.common import SqlPart, follow
from engine.store.sql.db import Sessions
from engine.store.sql.retries import not_held
from engine.store.sql.segments import reevaluate
from engine.store.sql.tables import EventRow

__all__ = ["EventsPart", "insert_event", "stored_event"]


class EventsPart(SqlPart):
    def record_events(self, customer_id: str, events: list[NewEvent]) -> list[StoredEvent]:
        """Store events once per message_id; a repeat comes back with ``new=False``."""
        segments = self.segment_index()
        with self._db.write() as s, s.begin():
            cid = follow(s, customer_id).id
            out: list[StoredEvent] = []
            now = datetime.now(UTC)
            for e in events:
                stored = insert_event(self._db, s, cid, e, received_at=now)
                if stored.new and segments.reads_event(e.name):
                    stored.segments = reevaluate(s, segments, cid, Touch(events=(e.name,)), now)
                out.append(stored)
            return out

    def list_events(self, customer_id: str, limit: int = 100) -> list[StoredEvent]:
        """The customer's most recent events, newest first."""
        with self._db.read() as s, s.begin():
            cid = follow(s, customer_id).id
            rows = s.scalars(
                select(EventRow)
                .where(EventRow.customer_id == cid)
                .order_by(EventRow.at.desc(), EventRow.id.desc())
                .limit(limit)
            )
            return [stored_event(r, new=False) for r in rows]

    def mark_dispatched(self, message_ids: list[str], *, at: datetime) -> None:
        """Record that these events reached triggers and running enrollments."""
        if not message_ids:
            return
        with self._db.write() as s, s.begin():
            s.execute(
                update(EventRow)
                .where(EventRow.message_id.in_(message_ids), EventRow.dispatched_at.is_(None))
                .values(dispatched_at=at)
            )

    def undispatched_events(
        self, before: datetime, limit: int = 200, *, now: datetime | None = None
    ) -> list[StoredEvent]:
        """Events accepted before ``before`` whose dispatch never completed, oldest first;
        those waiting out a failed dispatch's backoff at ``now``, or parked, left out."""
        with self._db.read() as s, s.begin():
            rows = s.scalars(
                select(EventRow)
                .where(EventRow.dispatched_at.is_(None), EventRow.received_at < before)
                .where(not_held("event", EventRow.id, now or datetime.now(UTC)))
                .order_by(EventRow.id)
                .limit(limit)
            )
            return [stored_event(r, new=False) for r in rows]


_EVENTS = cast(Table, EventRow.__table__)
#: ``INSERT ... ON CONFLICT (message_id) DO NOTHING RETURNING id``, built once per
#: dialect: building the statement per event cost more than executing it.
_INSERT_EVENT: dict[str, ReturningInsert[tuple[int]]] = {
    "sqlite": sqlite.insert(_EVENTS)
    .on_conflict_do_nothing(index_elements=["message_id"])
    .returning(_EVENTS.c.id),
    "postgresql": postgresql.insert(_EVENTS)
    .on_conflict_do_nothing(index_elements=["message_id"])
    .returning(_EVENTS.c.id),
}
_EVENT_BY_MESSAGE_ID = select(EventRow).where(EventRow.message_id == bindparam("message_id"))


def insert_event(
    db: Sessions,
    s: Session,
    customer_id: str,
    event: NewEvent,
    *,
    received_at: datetime,
    dispatched_at: datetime | None = None,
    running: list[str] | None = None,
) -> StoredEvent:
    """Store an event once per message_id in the caller's transaction; a repeat comes
    back as stored before, with ``new=False``."""
    row = {
        "message_id": event.message_id,
        "customer_id": customer_id,
        "name": event.name,
        "properties": event.properties,
        "at": event.at,
        "received_at": received_at,
        "dispatched_at": dispatched_at,
    }
    inserted = s.connection().execute(_INSERT_EVENT[db.dialect], row).first()
    if inserted is not None:
        return StoredEvent(
            id=inserted[0],
            customer_id=customer_id,
            message_id=event.message_id,
            name=event.name,
            properties=event.properties,
            at=event.at,
            new=True,
            dispatched=dispatched_at is not None,
            running=running,
        )
    seen = s.scalars(_EVENT_BY_MESSAGE_ID, {"message_id": event.message_id}).one()
    return stored_event(seen, new=False)


def stored_event(row: EventRow, *, new: bool) -> StoredEvent:
    """An event row as the store hands it out."""
    return StoredEvent(
        customer_id=row.customer_id,
        message_id=row.message_id,
        name=row.name,
        properties=row.properties,
        at=row.at,
        new=new,
        dispatched=row.dispatched_at is not None,
        id=row.id,
    )
