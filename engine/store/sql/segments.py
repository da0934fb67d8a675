"""Segment membership: kept current in the transaction of each change, and in SQL for
the whole population at deploy and at each refresh.

A change to one customer (an event, tags, attributes, consent, first touch, a merge)
re-evaluates, in memory and for that customer only, the segments the deployed
:class:`~engine.segments.index.SegmentIndex` says can depend on it; only what those
segments read is loaded (the events of their names, not the whole history). A
membership that flips writes ``segment_members`` and an outbox row in
``segment_changes`` in that same transaction; the dispatcher acts on the outbox after
commit (and its sweep on what a crash left behind).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from engine.models.journey import Segment
from engine.segments.index import Needs, SegmentIndex, Touch
from engine.store.service import SegmentChange, SegmentDeploy
from engine.store.sql.common import SqlPart, follow_id
from engine.store.sql.tables import (
    ConsentRow,
    CustomerRow,
    EventRow,
    SegmentChangeRow,
    SegmentMemberRow,
    SegmentRow,
    TagRow,
)
from rules.evaluate import evaluate
from rules.models import dump_rule
from rules.sql import customers_matching
from rules.view import ConsentRecord, CustomerView, EventRecord

#: Seconds a process trusts its segment index before checking the deployment again.
INDEX_MAX_AGE = 5.0
#: Events of each evaluated customer read per evaluation (the most recent ones).
VIEW_EVENTS = 1000
#: Customers per transaction when a whole population is (re)computed.
BATCH = 500

_M = SegmentMemberRow.__table__.c
_C = CustomerRow.__table__.c
_E = EventRow.__table__.c
_T = TagRow.__table__.c
_K = ConsentRow.__table__.c
_O = SegmentChangeRow.__table__.c
_S = SegmentRow.__table__.c


def checksum(segment: Segment) -> str:
    """A digest of what decides membership (the rule) and when it is refreshed."""
    raw = json.dumps([dump_rule(segment.rule), segment.refresh], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


# ---- one customer, in the caller's transaction --------------------------------------------


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
_EVENTS = (
    select(_E.name, _E.properties, _E.at)
    .where(_E.customer_id == bindparam("cid"), _E.name.in_(bindparam("names", expanding=True)))
    .order_by(_E.at.desc())
    .limit(VIEW_EVENTS)
)
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
            for n, p, a in conn.execute(_EVENTS, {**params, "names": sorted(needs.events)})
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


def _set_member(
    s: Session, sid: str, customer_ids: Sequence[str], member: bool, at: datetime, *, known: bool
) -> None:
    if not customer_ids:
        return
    if member and not known:
        s.execute(
            insert(SegmentMemberRow),
            [
                {"segment_id": sid, "customer_id": cid, "entered_at": at, "exited_at": None}
                for cid in customer_ids
            ],
        )
        return
    values = {"entered_at": at, "exited_at": None} if member else {"exited_at": at}
    s.execute(
        update(SegmentMemberRow)
        .where(_M.segment_id == sid, _M.customer_id.in_(customer_ids))
        .values(**values)
    )


def _outbox(
    s: Session, sid: str, customer_ids: Sequence[str], entered: bool, at: datetime
) -> list[SegmentChange]:
    out = []
    for cid in customer_ids:
        row_id = s.execute(
            insert(SegmentChangeRow)
            .values(segment_id=sid, customer_id=cid, entered=entered, at=at, dispatched_at=None)
            .returning(_O.id)
        ).scalar_one()
        out.append(
            SegmentChange(id=row_id, segment_id=sid, customer_id=cid, entered=entered, at=at)
        )
    return out


# ---- the store's part ---------------------------------------------------------------------


class SegmentsPart(SqlPart):
    _segment_cache: tuple[float, list[tuple[str, str]], SegmentIndex] | None = None

    def segment_index(self) -> SegmentIndex:
        """The deployed segments' index, checked against the database every few seconds
        (call it before taking the write lock: it may read)."""
        cached = self._segment_cache
        now = time.monotonic()
        if cached is not None and now - cached[0] < INDEX_MAX_AGE:
            return cached[2]
        with self._db.read() as s, s.begin():
            query = select(_S.id, _S.checksum).order_by(_S.id)
            signature = [(str(r.id), str(r.checksum)) for r in s.execute(query)]
            if cached is not None and cached[1] == signature:
                index = cached[2]
            else:
                index = SegmentIndex(_read_segments(s))
        self._segment_cache = (now, signature, index)
        return index

    def deployed_segments(self) -> dict[str, Segment]:
        """Every deployed segment by id."""
        with self._db.read() as s, s.begin():
            return _read_segments(s)

    def deploy_segments(self, segments: Mapping[str, Segment], *, at: datetime) -> SegmentDeploy:
        """Store the workspace's segments; compute new and changed ones (and those that
        refer to them) over the population; a removed segment's members exit.

        Who a deploy brings in is a baseline: recorded as entered at the deploy but
        starting no ``segment_entered`` journey (only entering later does), so a new
        or widened segment does not message everyone who matches already. Exits a
        deploy causes are dispatched like any other.
        """
        result = SegmentDeploy()
        with self._db.write() as s, s.begin():
            stored = {str(r.id): str(r.checksum) for r in s.execute(select(_S.id, _S.checksum))}
            for sid, seg in sorted(segments.items()):
                digest = checksum(seg)
                values = {
                    "name": seg.name,
                    "rule": dump_rule(seg.rule),
                    "refresh": seg.refresh,
                    "checksum": digest,
                    "deployed_at": at,
                }
                if sid not in stored:
                    s.execute(insert(SegmentRow).values(id=sid, **values))
                    result.added.append(sid)
                elif stored[sid] != digest:
                    s.execute(update(SegmentRow).where(_S.id == sid).values(**values))
                    result.changed.append(sid)
                else:
                    result.unchanged.append(sid)
            for sid in sorted(set(stored) - set(segments)):
                s.execute(delete(SegmentRow).where(_S.id == sid))
                result.removed.append(sid)
                gone = list(
                    s.scalars(
                        select(_M.customer_id).where(_M.segment_id == sid, _M.exited_at.is_(None))
                    )
                )
                _set_member(s, sid, gone, False, at, known=True)
                _outbox(s, sid, gone, False, at)
        self._segment_cache = None
        index = self.segment_index()
        for sid in index.closure([*result.added, *result.changed]):
            self._recompute(index, sid, at, baseline=True)
        return result

    def refresh_segment(self, segment_id: str, *, now: datetime) -> int:
        """Recompute a segment (and the segments that refer to it) over the population,
        as time moved on; how many enters and exits were written (to the outbox)."""
        index = self.segment_index()
        if segment_id not in index.segments:
            return 0
        return sum(self._recompute(index, sid, now) for sid in index.closure([segment_id]))

    def _recompute(
        self, index: SegmentIndex, sid: str, now: datetime, *, baseline: bool = False
    ) -> int:
        """Diff who matches now against the membership table, in batches."""
        with self._db.read() as s, s.begin():
            matching = _matching(s, index, sid, now)
            rows = s.execute(select(_M.customer_id, _M.exited_at).where(_M.segment_id == sid))
            known: set[str] = set()
            members: set[str] = set()
            for cid, exited in rows:
                known.add(cid)
                if exited is None:
                    members.add(cid)
        enters = sorted(matching - members)
        exits = sorted(members - matching)
        for start in range(0, max(len(enters), len(exits)), BATCH):
            batch_in = enters[start : start + BATCH]
            batch_out = exits[start : start + BATCH]
            with self._db.write() as s, s.begin():
                _set_member(s, sid, [c for c in batch_in if c in known], True, now, known=True)
                fresh = [c for c in batch_in if c not in known]
                _set_member(s, sid, fresh, True, now, known=False)
                _set_member(s, sid, batch_out, False, now, known=True)
                if not baseline:
                    _outbox(s, sid, batch_in, True, now)
                _outbox(s, sid, batch_out, False, now)
        return (0 if baseline else len(enters)) + len(exits)

    def pending_segment_changes(
        self,
        *,
        customer_ids: Sequence[str] | None = None,
        segment_id: str | None = None,
        before: datetime | None = None,
        limit: int = 500,
    ) -> list[SegmentChange]:
        """Enters and exits not dispatched yet, oldest first."""
        query = select(SegmentChangeRow).where(_O.dispatched_at.is_(None))
        if customer_ids is not None:
            query = query.where(_O.customer_id.in_(list(customer_ids)))
        if segment_id is not None:
            query = query.where(_O.segment_id == segment_id)
        if before is not None:
            query = query.where(_O.at < before)
        with self._db.read() as s, s.begin():
            return [
                SegmentChange(
                    id=r.id,
                    segment_id=r.segment_id,
                    customer_id=r.customer_id,
                    entered=r.entered,
                    at=r.at,
                )
                for r in s.scalars(query.order_by(_O.id).limit(limit))
            ]

    def mark_segment_changes(self, ids: Sequence[int], *, at: datetime) -> None:
        """Record that these enters and exits reached triggers and enrollments."""
        if not ids:
            return
        with self._db.write() as s, s.begin():
            s.execute(
                update(SegmentChangeRow)
                .where(_O.id.in_(list(ids)), _O.dispatched_at.is_(None))
                .values(dispatched_at=at)
            )

    def segment_members(self, segment_id: str) -> list[str]:
        """The ids of a segment's current members, sorted."""
        with self._db.read() as s, s.begin():
            query = select(_M.customer_id).where(
                _M.segment_id == segment_id, _M.exited_at.is_(None)
            )
            return sorted(s.scalars(query))

    def customer_segments(self, customer_id: str) -> set[str]:
        """The segments the customer (its survivor, for a merged id) is a member of."""
        with self._db.read() as s, s.begin():
            cid = follow_id(s, customer_id)
            query = select(_M.segment_id).where(_M.customer_id == cid, _M.exited_at.is_(None))
            return set(s.scalars(query))


def _read_segments(s: Session) -> dict[str, Segment]:
    return {
        r.id: Segment.model_validate(
            {"id": r.id, "name": r.name, "rule": r.rule, "refresh": r.refresh}
        )
        for r in s.scalars(select(SegmentRow).order_by(SegmentRow.id))
    }


def _matching(s: Session, index: SegmentIndex, sid: str, now: datetime) -> set[str]:
    """Who matches segment ``sid`` at ``now``, in SQL (segment atoms read the
    membership table, which the caller keeps current in dependency order)."""
    query = customers_matching(index.segments[sid].rule, now=now, dialect=s.get_bind().dialect.name)
    return {str(cid) for cid in s.scalars(query)}
