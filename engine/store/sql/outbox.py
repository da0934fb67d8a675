"""The outbox as an operator sees it: failed dispatches (attempts, backoff, parking),
what is still waiting, retrying and discarding; pending signals; and the triggers a
paused journey let pass.

Every kind of item lives in its own outbox table (:data:`OUTBOXES`); this part reads
them side by side with ``outbox_failures``. Listing is for people (a page of items);
the sweeps read their outbox with :func:`engine.store.sql.retries.not_held`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.errors import Conflict, NotFound
from engine.store.records import (
    AuditEntry,
    OutboxItem,
    OutboxKind,
    OutboxState,
    PendingSignal,
    SegmentChange,
    StoredEvent,
    TagChange,
)
from engine.store.sql.common import SqlPart, follow_id
from engine.store.sql.events import stored_event
from engine.store.sql.retries import (
    MAX_ATTEMPTS,
    backoff,
    insert_pending_signal,
    not_held,
    pending_signal,
)
from engine.store.sql.tables import (
    EventRow,
    OutboxFailureRow,
    PendingSignalRow,
    SegmentChangeRow,
    TagHistoryRow,
    TriggerSkipRow,
)

OutboxEntry = StoredEvent | TagChange | SegmentChange | PendingSignal


@dataclass(frozen=True)
class _Outbox:
    """Where one kind of item waits: its table, and the columns the outbox reads."""

    table: Any
    created: InstrumentedAttribute[Any]
    customer: InstrumentedAttribute[Any]

    def what(self, row: Any) -> str:
        if isinstance(row, EventRow):
            return f"{row.name} ({row.message_id})"
        if isinstance(row, TagHistoryRow):
            return f"+{row.tag} (by {row.source})"
        if isinstance(row, SegmentChangeRow):
            return f"{'entered' if row.entered else 'left'} {row.segment_id}"
        return f"{row.name} to {row.enrollment_id}"


OUTBOXES: dict[str, _Outbox] = {
    "event": _Outbox(EventRow, EventRow.received_at, EventRow.customer_id),
    "tag": _Outbox(TagHistoryRow, TagHistoryRow.at, TagHistoryRow.customer_id),
    "segment": _Outbox(SegmentChangeRow, SegmentChangeRow.at, SegmentChangeRow.customer_id),
    "signal": _Outbox(PendingSignalRow, PendingSignalRow.created_at, PendingSignalRow.customer_id),
}


def _state(failure: OutboxFailureRow | None) -> OutboxState:
    if failure is None:
        return "pending"
    if failure.discarded_at is not None:
        return "discarded"
    return "parked" if failure.parked_at is not None else "retrying"


def _item(kind: str, row: Any, failure: OutboxFailureRow | None) -> OutboxItem:
    box = OUTBOXES[kind]
    f = failure
    return OutboxItem(
        kind=kind,
        id=row.id,
        customer_id=getattr(row, box.customer.key),
        what=box.what(row),
        created_at=getattr(row, box.created.key),
        state=_state(f),
        attempts=f.attempts if f else 0,
        last_error=f.last_error if f else "",
        next_attempt_at=f.next_attempt_at if f else None,
        parked_at=f.parked_at if f else None,
        discarded_at=f.discarded_at if f else None,
        discarded_by=f.discarded_by if f else None,
    )


class OutboxPart(SqlPart):
    def record_dispatch_failure(
        self, kind: OutboxKind, item_id: int, customer_id: str | None, error: str, *, at: datetime
    ) -> OutboxItem:
        """Count a failed dispatch: the next attempt after a backoff, or parked after
        ``MAX_ATTEMPTS``; the item as it stands now."""
        with self._db.write() as s, s.begin():
            row = _row(s, kind, item_id)
            f = s.get(OutboxFailureRow, (kind, item_id), with_for_update=True)
            if f is None:
                f = OutboxFailureRow(
                    kind=kind,
                    item_id=item_id,
                    customer_id=customer_id,
                    attempts=0,
                    first_failed_at=at,
                )
                s.add(f)
            f.attempts += 1
            f.last_error, f.last_attempt_at = error[:2000], at
            parked = f.attempts >= MAX_ATTEMPTS
            f.parked_at = at if parked else None
            f.next_attempt_at = None if parked else at + backoff(f.attempts)
            s.flush()
            return _item(kind, row, f)

    def settle_outbox(self) -> int:
        """Forget the failures of items dispatched since (by a sweep, a repeated
        request or a retry); discarded ones stay, as their record. How many."""
        gone = 0
        with self._db.write() as s, s.begin():
            for kind, box in OUTBOXES.items():
                # Per failure row, its item by primary key: the failures are few, the
                # items (every event ever accepted) are not.
                done = (
                    select(box.table.id)
                    .where(
                        box.table.id == OutboxFailureRow.item_id,
                        box.table.dispatched_at.is_not(None),
                    )
                    .exists()
                )
                result = s.execute(
                    delete(OutboxFailureRow)
                    .where(
                        OutboxFailureRow.kind == kind,
                        OutboxFailureRow.discarded_at.is_(None),
                        done,
                    )
                    .returning(OutboxFailureRow.item_id)
                )
                gone += len(result.all())
        return gone

    def outbox_items(
        self,
        *,
        before: datetime,
        states: Sequence[OutboxState] = ("pending", "retrying", "parked"),
        kind: OutboxKind | None = None,
        limit: int = 100,
    ) -> list[OutboxItem]:
        """Items not dispatched (pending ones only when accepted before ``before``: the
        younger are still in their request's hands) and discarded ones, as asked;
        oldest first."""
        out: list[OutboxItem] = []
        with self._db.read() as s, s.begin():
            for name, box in OUTBOXES.items():
                if kind is not None and name != kind:
                    continue
                t = box.table
                query = (
                    select(t, OutboxFailureRow)
                    .outerjoin(
                        OutboxFailureRow,
                        (OutboxFailureRow.kind == name) & (OutboxFailureRow.item_id == t.id),
                    )
                    .order_by(t.id)
                    .limit(limit)
                )
                if "discarded" not in states:
                    query = query.where(t.dispatched_at.is_(None))
                if name == "tag":
                    query = query.where(TagHistoryRow.added.is_(True))
                for row, failure in s.execute(query):
                    item = _item(name, row, failure)
                    if item.state not in states:
                        continue
                    if item.state == "pending" and (
                        row.dispatched_at is not None or not item.created_at < before
                    ):
                        continue
                    out.append(item)
        out.sort(key=lambda i: i.created_at)
        return out[:limit]

    def outbox_item(self, kind: OutboxKind, item_id: int) -> OutboxItem:
        """One item (NotFound when there is no such row in its outbox)."""
        with self._db.read() as s, s.begin():
            return _item(kind, _row(s, kind, item_id), s.get(OutboxFailureRow, (kind, item_id)))

    def outbox_entry(self, kind: OutboxKind, item_id: int) -> OutboxEntry:
        """The item as its dispatch takes it; Conflict when it was dispatched already."""
        with self._db.read() as s, s.begin():
            row = _row(s, kind, item_id)
            if row.dispatched_at is not None:
                raise Conflict(f"outbox {kind} {item_id} was dispatched (or discarded) already")
            if isinstance(row, EventRow):
                return stored_event(row, new=False)
            if isinstance(row, TagHistoryRow):
                return TagChange(
                    customer_id=follow_id(s, row.customer_id),
                    tag=row.tag,
                    added=row.added,
                    source=row.source,
                    history_id=row.id,
                    context=row.context,
                )
            if isinstance(row, SegmentChangeRow):
                return SegmentChange(
                    id=row.id,
                    segment_id=row.segment_id,
                    customer_id=row.customer_id,
                    entered=row.entered,
                    at=row.at,
                )
            return pending_signal(row)

    def unpark_outbox_item(self, kind: OutboxKind, item_id: int, *, at: datetime) -> None:
        """Make a parked (or retrying) item due at ``at``, its attempts kept."""
        with self._db.write() as s, s.begin():
            s.execute(
                update(OutboxFailureRow)
                .where(
                    OutboxFailureRow.kind == kind,
                    OutboxFailureRow.item_id == item_id,
                    OutboxFailureRow.discarded_at.is_(None),
                )
                .values(parked_at=None, next_attempt_at=at)
            )

    def discard_outbox_item(
        self, kind: OutboxKind, item_id: int, *, by: str, at: datetime
    ) -> OutboxItem:
        """Mark an item done without dispatching it, recording who and when; Conflict
        when it was dispatched already."""
        with self._db.write() as s, s.begin():
            row = _row(s, kind, item_id, lock=True)
            if row.dispatched_at is not None:
                raise Conflict(f"outbox {kind} {item_id} was dispatched (or discarded) already")
            row.dispatched_at = at
            f = s.get(OutboxFailureRow, (kind, item_id), with_for_update=True)
            if f is None:
                f = OutboxFailureRow(
                    kind=kind,
                    item_id=item_id,
                    attempts=0,
                    last_error="",
                    first_failed_at=at,
                    last_attempt_at=at,
                    customer_id=getattr(row, OUTBOXES[kind].customer.key),
                )
                s.add(f)
            f.discarded_at, f.discarded_by, f.next_attempt_at = at, by, None
            s.flush()
            return _item(kind, row, f)

    # ---- pending signals (handoff outcomes, cancels) ---------------------------------

    def keep_signal(
        self,
        key: str,
        enrollment_id: str,
        customer_id: str | None,
        name: str,
        payload: dict[str, Any],
        *,
        at: datetime,
    ) -> PendingSignal:
        """Keep a signal until Temporal took it, once per ``key``; the stored one."""
        with self._db.write() as s, s.begin():
            return insert_pending_signal(
                self._db,
                s,
                key=key,
                enrollment_id=enrollment_id,
                customer_id=customer_id,
                name=name,
                payload=payload,
                at=at,
            )

    def undispatched_signals(self, before: datetime, limit: int = 200) -> list[PendingSignal]:
        """Signals kept since before ``before`` that Temporal never took, oldest first
        (those waiting out a failed attempt's backoff, or parked, left out)."""
        t = PendingSignalRow
        with self._db.read() as s, s.begin():
            rows = s.scalars(
                select(t)
                .where(t.dispatched_at.is_(None), t.created_at < before)
                .where(not_held("signal", t.id, before))
                .order_by(t.id)
                .limit(limit)
            )
            return [pending_signal(r) for r in rows]

    def mark_signals_dispatched(self, ids: Sequence[int], *, at: datetime) -> None:
        """Record that Temporal took these signals."""
        if not ids:
            return
        t = PendingSignalRow
        with self._db.write() as s, s.begin():
            s.execute(
                update(t)
                .where(t.id.in_(list(ids)), t.dispatched_at.is_(None))
                .values(dispatched_at=at)
            )

    # ---- triggers a paused journey let pass ------------------------------------------

    def record_trigger_skips(
        self, skips: Sequence[tuple[str, str, str, str]], *, reason: str, at: datetime
    ) -> None:
        """Record (key, customer id, journey id, trigger) once per key."""
        if not skips:
            return
        rows = [
            {"key": k, "customer_id": c, "journey_id": j, "trigger": t, "reason": reason, "at": at}
            for k, c, j, t in skips
        ]
        with self._db.write() as s, s.begin():
            self._db.insert_ignore(s, TriggerSkipRow, rows)


def trigger_skip_entries(s: Session, customer_ids: Sequence[str]) -> list[AuditEntry]:
    """The audit trail's lines for triggers paused journeys let pass (in ``s``)."""
    rows = s.scalars(select(TriggerSkipRow).where(TriggerSkipRow.customer_id.in_(customer_ids)))
    return [
        AuditEntry(
            at=r.at,
            kind="trigger_skipped",
            journey_id=r.journey_id,
            outcome=r.reason,
            detail=f"{r.trigger}: journey {r.journey_id} is {r.reason}",
        )
        for r in rows
    ]


def _row(s: Session, kind: str, item_id: int, *, lock: bool = False) -> Any:
    box = OUTBOXES.get(kind)
    row = None if box is None else s.get(box.table, item_id, with_for_update=lock)
    if row is None:
        raise NotFound(f"no outbox item {kind} {item_id}")
    return row
