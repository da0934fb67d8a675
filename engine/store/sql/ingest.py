"""Ingest in one transaction: resolve each event's customer, store the event, and say
whether anything needs to hear of it.

One write per ``/v1/track`` request (a batch is all or nothing), where resolving,
recording and marking took three. An event that no deployed trigger wants and whose
customer has no running enrollment is stored already dispatched: there is nobody to
tell, so the dispatcher (and its sweep) need not touch it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from engine.models.segment_index import EVERYTHING, SegmentIndex, Touch
from engine.store.records import Identities, IngestGroup, NewEvent, ResolveResult, StoredEvent
from engine.store.sql.common import SqlPart
from engine.store.sql.db import Sessions
from engine.store.sql.events import insert_event
from engine.store.sql.identity import BY_KEY, key_params, resolve_by_keys, single_key
from engine.store.sql.segments import reevaluate
from engine.store.sql.tables import CustomerRow, EnrollmentRow, IdentityRow


class IngestPart(SqlPart):
    def ingest(
        self,
        items: Sequence[tuple[Identities, NewEvent]],
        *,
        at: datetime,
        triggers: Callable[[NewEvent], bool],
    ) -> list[StoredEvent]:
        """Store events once per message_id, each under the customer its identities name
        (created or merged as ``resolve`` does). ``triggers(event)`` says whether a
        deployed trigger may start on it; new events that no trigger and no running
        enrollment of their customer wants come back (and are stored) dispatched."""
        (stored,) = self.ingest_groups([IngestGroup(items=items, at=at)], triggers=triggers)
        return stored

    def shared_failure(self, exc: Exception) -> bool:
        """Whether a failed ingest transaction failed for the database's reasons (not
        reachable, locked past the busy timeout), not for one request's data."""
        return isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError)

    def ingest_groups(
        self, groups: Sequence[IngestGroup], *, triggers: Callable[[NewEvent], bool]
    ) -> list[list[StoredEvent]]:
        """``ingest`` of several requests' events in one transaction (group commit): all
        of them are stored, or none. One list of stored events per group."""

        segments = self.segment_index()  # may read: before the write lock

        def work(s: Session) -> list[list[StoredEvent]]:
            out: list[list[StoredEvent]] = []
            for group in groups:
                out.append(
                    [
                        _ingest_one(self._db, s, *item, group.at, triggers, segments)
                        for item in group.items
                    ]
                )
            return out

        return self._write_retrying(work)


def _ingest_one(
    db: Sessions,
    s: Session,
    identities: Identities,
    event: NewEvent,
    at: datetime,
    triggers: Callable[[NewEvent], bool],
    segments: SegmentIndex,
) -> StoredEvent:
    # Resolved one by one: an earlier event of the batch may have merged.
    known = _known(s, identities)
    if known is not None:
        resolved, running = ResolveResult(customer_id=known[0]), known[1]
    else:
        resolved = resolve_by_keys(s, identities, True, at)  # _known read the fast path
        running = _running(s, resolved.customer_id)
    customer_id = resolved.customer_id
    wanted = bool(running) or triggers(event)
    stored = insert_event(
        db,
        s,
        customer_id,
        event,
        received_at=at,
        dispatched_at=None if wanted else at,
        running=running,
    )
    # Segment enters and exits go to their own outbox: an event nobody else wants stays
    # stored as dispatched. A name no segment reads costs nothing.
    if (resolved.created or resolved.merges) and segments:
        # A new customer may match already (a rule with ``not``); a merged one holds
        # the data of two.
        stored.segments += reevaluate(s, segments, customer_id, EVERYTHING, at)
    elif stored.new and segments.reads_event(event.name):
        touch = Touch(events=(event.name,))
        stored.segments += reevaluate(s, segments, customer_id, touch, at)
    return stored


_ENROLLMENTS = EnrollmentRow.__table__.c
_RUNNING = select(_ENROLLMENTS.id).where(
    _ENROLLMENTS.customer_id == bindparam("customer_id"), _ENROLLMENTS.status == "running"
)


def _running(s: Session, customer_id: str) -> list[str]:
    return list(s.scalars(_RUNNING, {"customer_id": customer_id}))


_CUSTOMERS = CustomerRow.__table__
_IDENTITY = IdentityRow.__table__.c
#: Most ingest names a known, unmerged customer by one identity: the customer, locked
#: against a concurrent merge (PostgreSQL), and its running enrollments, in one read
#: (one round trip less per event than resolving and then listing).
_KNOWN = (
    select(_CUSTOMERS.c.id, _CUSTOMERS.c.merged_into, _ENROLLMENTS.id.label("running"))
    .select_from(
        IdentityRow.__table__.join(_CUSTOMERS, _CUSTOMERS.c.id == _IDENTITY.customer_id).outerjoin(
            EnrollmentRow.__table__,
            (_ENROLLMENTS.customer_id == _CUSTOMERS.c.id) & (_ENROLLMENTS.status == "running"),
        )
    )
    .where(*BY_KEY)
    .with_for_update(of=_CUSTOMERS)
)


def _known(s: Session, identities: Identities) -> tuple[str, list[str]] | None:
    """(customer id, running enrollment ids) when ``identities`` is one identity of an
    unmerged customer and nothing else; None when ``_resolve`` must do the work."""
    key = single_key(identities)
    if key is None:
        return None
    rows = s.execute(_KNOWN, key_params(key)).all()
    if not rows or rows[0].merged_into is not None:
        return None
    return rows[0].id, [r.running for r in rows if r.running is not None]
