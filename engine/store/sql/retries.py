"""What the outboxes share: the backoff of failed dispatches, the clause that keeps an
item in backoff (or parked) out of a sweep, and storing a pending signal.

Each outbox (``events``, ``tag_history``, ``segment_changes``, ``pending_signals``)
marks an item ``dispatched_at`` once it reached Temporal. An item whose dispatch
failed gets an ``outbox_failures`` row: the sweep passes it over until its next
attempt is due, and after :data:`MAX_ATTEMPTS` failures not at all (parked) until an
operator retries or discards it. One bad item therefore never holds up the others.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.store.records import PendingSignal
from engine.store.sql.db import Sessions
from engine.store.sql.tables import OutboxFailureRow, PendingSignalRow

#: Failed dispatches before an item is parked (about 40 minutes of tries with the backoff).
MAX_ATTEMPTS = 10
#: Seconds before the first retry; doubled at each failure up to MAX_DELAY.
FIRST_DELAY = 5.0
MAX_DELAY = 600.0


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure: 5 s, 10 s, 20 s, ... 10 min."""
    return timedelta(seconds=min(FIRST_DELAY * 2 ** max(attempts - 1, 0), MAX_DELAY))


def not_held(kind: str, item_id: InstrumentedAttribute[int], now: datetime) -> ColumnElement[bool]:
    """True for an item with no failure waiting on it: never failed, or its next
    attempt is due. Parked and discarded items (no next attempt) are held."""
    f = OutboxFailureRow
    return ~exists().where(
        f.kind == kind,
        f.item_id == item_id,
        or_(f.next_attempt_at.is_(None), f.next_attempt_at > now),
    )


def insert_pending_signal(
    db: Sessions,
    s: Session,
    *,
    key: str,
    enrollment_id: str,
    customer_id: str | None,
    name: str,
    payload: dict[str, Any],
    at: datetime,
) -> PendingSignal:
    """Keep a signal until Temporal took it, once per ``key`` (in the caller's
    transaction); the stored one (the first, for a repeated key)."""
    row = {
        "key": key,
        "enrollment_id": enrollment_id,
        "customer_id": customer_id,
        "name": name,
        "payload": payload,
        "created_at": at,
    }
    db.insert_ignore(s, PendingSignalRow, [row])
    stored = s.scalars(select(PendingSignalRow).where(PendingSignalRow.key == key)).one()
    return pending_signal(stored)


def pending_signal(row: PendingSignalRow) -> PendingSignal:
    """A pending_signals row as the store hands it out."""
    return PendingSignal(
        id=row.id,
        enrollment_id=row.enrollment_id,
        customer_id=row.customer_id,
        name=row.name,
        payload=dict(row.payload),
        created_at=row.created_at,
    )
