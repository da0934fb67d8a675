"""Segment membership of one customer, kept in the transaction of each change.

A change to one customer (an event, tags, attributes, consent, first touch, a merge)
re-evaluates, in memory and for that customer only, the segments the deployed
:class:`~engine.models.segment_index.SegmentIndex` says can depend on it; only what those
segments read is loaded (the events of their names, not the whole history). A
membership that flips writes ``segment_members`` and an outbox row in
``segment_changes`` in that same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Select, Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from engine.models.segment_index import Needs, SegmentIndex, Touch
from engine.store.records import SegmentChange
from engine.store.sql.tables import (
    ConsentRow,
    CustomerRow,
    EventRow,
    SegmentChangeRow,
    SegmentMemberRow,
    TagRow,
)
from rules.evaluate import evaluate
from rules.view import ConsentRecord, CustomerView, EventRecord

__all__ = ["VIEW_EVENTS", "merge_memberships", "reevaluate"]

#: Events of each evaluated customer read per evaluation (the most recent ones).
VIEW_EVENTS = 1000

_M = SegmentMemberRow.__table__.c
_C = CustomerRow.__table__.c
_E = EventRow.__table__.c
_T = TagRow.__table__.c
_K = ConsentRow.__table__.c
_O = SegmentChangeRow.__table__.c


def reevaluate(
    s: Session, index: SegmentIndex, customer_id: str, touch: Touch, at: datetime
) -> list[SegmentChange]:
    """Re-evaluate the segments ``touch`` can change for one customer, write what
    flipped, and return the enters and exits (outbox rows, not yet dispatched).

    On the ingest path: prepared Core statements on the session's connection (no ORM
    unit of work, no statement building per call), and only what the segments read.
    """
    sids = index.affected(touch)
    if not sids:
        return []
    conn = s.connection()
    rows = conn.execute(_MEMBERSHIPS, {"cid": customer_id}).all()
    known = {sid for sid, _ in rows}
    view = _load_view(conn, customer_id, index.needs(sids), {sid for sid, ex in rows if ex is None})
    changes: list[SegmentChange] = []
    for sid in sids:
        # Segments come in dependency order and the view's memberships are updated as
        # they flip, so a segment that refers to another reads its fresh answer.
        holds = evaluate(index.segments[sid].rule, view, now=at)
        if holds == (sid in view.segments):
            continue
        if holds:
            view.segments.add(sid)
        else:
            view.segments.discard(sid)
        params = {"sid": sid, "cid": customer_id}
        if holds and sid not in known:
            conn.execute(_INSERT_MEMBER, {**params, "entered": at, "exited": None})
        elif holds:
            conn.execute(_REENTER, {**params, "entered": at})
        else:
            conn.execute(_EXIT, {**params, "exited": at})
        row_id = conn.execute(_OUTBOX_ONE, {**params, "entered": holds, "at": at}).scalar_one()
        changes.append(
            SegmentChange(id=row_id, segment_id=sid, customer_id=customer_id, entered=holds, at=at)
        )
    return changes


_MEMBERSHIPS = select(_M.segment_id, _M.exited_at).where(_M.customer_id == bindparam("cid"))
_PROFILE = select(_C.attributes, _C.source).where(_C.id == bindparam("cid"))
_TAGS = select(_T.tag).where(_T.customer_id == bindparam("cid"))
_CONSENTS = (
    select(_K.purpose, _K.channel, _K.granted, _K.at)
    .where(_K.customer_id == bindparam("cid"))
    .order_by(_K.at, _K.id)
)
# The (customer_id, name, at) index serves this; most recent first, capped.
_EVENTS_BY_COUNT: dict[int, Select[Any]] = {}


def _events_query(names: int) -> Select[Any]:
    """The customer's latest events of ``names`` names (bound as ``n0``, ``n1``, ...).

    One statement per number of names, with plain equalities: an expanding ``IN``
    is rendered again at every execution, which cost more than the query itself.
    The (customer_id, name, at) index serves it.
    """
    cached = _EVENTS_BY_COUNT.get(names)
    if cached is not None:
        return cached
    query: Select[Any] = (
        select(_E.name, _E.properties, _E.at)
        .where(
            _E.customer_id == bindparam("cid"),
            or_(*(_E.name == bindparam(f"n{i}") for i in range(names))),
        )
        .order_by(_E.at.desc())
        .limit(VIEW_EVENTS)
    )
    _EVENTS_BY_COUNT[names] = query
    return query


_MEMBER_TABLE = cast(Table, SegmentMemberRow.__table__)
_INSERT_MEMBER = insert(_MEMBER_TABLE).values(
    segment_id=bindparam("sid"),
    customer_id=bindparam("cid"),
    entered_at=bindparam("entered"),
    exited_at=bindparam("exited"),
)
_THIS_MEMBER = (_M.segment_id == bindparam("sid"), _M.customer_id == bindparam("cid"))
_REENTER = (
    update(_MEMBER_TABLE)
    .where(*_THIS_MEMBER)
    .values(entered_at=bindparam("entered"), exited_at=None)
)
_EXIT = update(_MEMBER_TABLE).where(*_THIS_MEMBER).values(exited_at=bindparam("exited"))
_OUTBOX_ONE = (
    insert(cast(Table, SegmentChangeRow.__table__))
    .values(
        segment_id=bindparam("sid"),
        customer_id=bindparam("cid"),
        entered=bindparam("entered"),
        at=bindparam("at"),
        dispatched_at=None,
    )
    .returning(_O.id)
)


def _load_view(conn: Connection, customer_id: str, needs: Needs, members: set[str]) -> CustomerView:
    """The customer as the segments of ``needs`` see them, and nothing more."""
    params = {"cid": customer_id}
    attributes: dict[str, Any] = {}
    source: dict[str, Any] = {}
    if needs.attributes or needs.source:
        profile = conn.execute(_PROFILE, params).first()
        if profile is not None:
            attributes, source = profile.attributes or {}, profile.source or {}
    tags = set(conn.execute(_TAGS, params).scalars()) if needs.tags else set()
    consents = (
        [
            ConsentRecord.model_construct(
                purpose=r.purpose, channel=r.channel, granted=r.granted, at=r.at
            )
            for r in conn.execute(_CONSENTS, params)
        ]
        if needs.consents
        else []
    )
    events = (
        [
            EventRecord.model_construct(name=n, properties=p, at=a)
            for n, p, a in conn.execute(
                _events_query(len(needs.events)),
                {**params, **{f"n{i}": name for i, name in enumerate(sorted(needs.events))}},
            )
        ]
        if needs.events
        else []
    )
    return CustomerView.model_construct(
        attributes=attributes,
        tags=tags,
        events=events,
        source=source,
        consents=consents,
        segments=members,
    )


def merge_memberships(s: Session, survivor_id: str, other_id: str) -> None:
    """On a merge, the survivor is a member wherever either was (since the earlier
    entry); the merged id's rows go, and its undispatched changes become the survivor's."""
    mine = {
        sid: (entered, exited)
        for sid, entered, exited in s.execute(
            select(_M.segment_id, _M.entered_at, _M.exited_at).where(_M.customer_id == survivor_id)
        )
    }
    theirs = s.execute(
        select(_M.segment_id, _M.entered_at).where(
            _M.customer_id == other_id, _M.exited_at.is_(None)
        )
    ).all()
    for sid, entered in theirs:
        kept = mine.get(sid)
        if kept is None:
            s.execute(
                insert(SegmentMemberRow).values(
                    segment_id=sid, customer_id=survivor_id, entered_at=entered, exited_at=None
                )
            )
        elif kept[1] is not None or entered < kept[0]:
            # The survivor had left (or entered later): the person has been in since then.
            s.execute(
                update(SegmentMemberRow)
                .where(_M.segment_id == sid, _M.customer_id == survivor_id)
                .values(entered_at=entered, exited_at=None)
            )
    s.execute(delete(SegmentMemberRow).where(_M.customer_id == other_id))
    s.execute(
        update(SegmentChangeRow)
        .where(_O.customer_id == other_id, _O.dispatched_at.is_(None))
        .values(customer_id=survivor_id)
    )
