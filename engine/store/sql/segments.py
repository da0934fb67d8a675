"""Segments in the store: deployed definitions, population-wide (re)computation in SQL
at deploy and at each refresh, and the outbox of enters and exits.

Keeping one customer's membership current in the transaction of a change is
:mod:`engine.store.sql.membership`; the dispatcher acts on the outbox after commit
(and its sweep on what a crash left behind).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from engine.expressions.clock import utcnow
from engine.models.journey import Segment
from engine.models.segment_index import SegmentIndex
from engine.store.records import SegmentChange, SegmentDeploy
from engine.store.sql.common import SqlPart, follow_id
from engine.store.sql.membership import merge_memberships, reevaluate
from engine.store.sql.retries import not_held
from engine.store.sql.tables import SegmentChangeRow, SegmentMemberRow, SegmentRow
from rules.models import dump_rule
from rules.sql import customers_matching

__all__ = ["SegmentsPart", "checksum", "merge_memberships", "reevaluate"]

#: Seconds a process trusts its segment index before checking the deployment again.
INDEX_MAX_AGE = 5.0
#: Customers per transaction when a whole population is (re)computed.
BATCH = 500

_M = SegmentMemberRow.__table__.c
_O = SegmentChangeRow.__table__.c
_S = SegmentRow.__table__.c


def checksum(segment: Segment) -> str:
    """A digest of what decides membership (the rule) and when it is refreshed."""
    raw = json.dumps([dump_rule(segment.rule), segment.refresh], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


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
        now: datetime | None = None,
    ) -> list[SegmentChange]:
        """Enters and exits not dispatched yet, oldest first; those waiting out a failed
        dispatch's backoff at ``now``, or parked, left out (the sweep's to retry)."""
        query = select(SegmentChangeRow).where(_O.dispatched_at.is_(None))
        query = query.where(not_held("segment", SegmentChangeRow.id, now or utcnow()))
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
