"""Customer profiles: reading and writing them whole, tags (and their dispatch outbox),
attributes, consents, identities and merges. Events are in :mod:`engine.store.sql.events`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.expressions.clock import utcnow
from engine.models.segment_index import EVERYTHING, Touch
from engine.store.records import (
    IDENTITY_KINDS,
    ConsentChange,
    Customer,
    MergeRecord,
    TagChange,
)
from engine.store.sql.clinic_tallies import clinic_moved, follow_clinic
from engine.store.sql.common import SqlPart, follow, follow_id
from engine.store.sql.retries import not_held
from engine.store.sql.segments import reevaluate
from engine.store.sql.tables import (
    ConsentRow,
    CustomerRow,
    EventRow,
    IdentityRow,
    MergeRow,
    TagHistoryRow,
    TagRow,
)
from rules.view import ConsentRecord, EventRecord

#: Events a customer view carries: the most recent ones (rules look back, not forever).
VIEW_EVENTS = 1000


class CustomersPart(SqlPart):
    def get_customer(self, customer_id: str) -> Customer:
        """The customer (the survivor, for a merged id) with identities, tags and history."""
        with self._db.read() as s, s.begin():
            row = follow(s, customer_id)
            identities: dict[str, str] = {}
            for ident in s.scalars(
                select(IdentityRow)
                .where(IdentityRow.customer_id == row.id)
                .order_by(IdentityRow.kind, IdentityRow.namespace, IdentityRow.value)
            ):
                # An openid of our own app (namespace "") is the one channels can use.
                identities.setdefault(ident.kind, ident.value)
            if row.wecom_owner_userid:
                identities["wecom_owner_userid"] = row.wecom_owner_userid
            tags = s.scalars(select(TagRow).where(TagRow.customer_id == row.id)).all()
            consents = s.scalars(
                select(ConsentRow)
                .where(ConsentRow.customer_id == row.id)
                .order_by(ConsentRow.at, ConsentRow.id)
            ).all()
            events = s.scalars(
                select(EventRow)
                .where(EventRow.customer_id == row.id)
                .order_by(EventRow.at.desc(), EventRow.id.desc())
                .limit(VIEW_EVENTS)
            ).all()
            return Customer(
                id=row.id,
                attributes=row.attributes,
                identities=identities,
                tags={t.tag: t.source for t in sorted(tags, key=lambda t: t.tag)},
                follows_wechat=row.follows_wechat,
                consents=[
                    ConsentRecord(purpose=c.purpose, channel=c.channel, granted=c.granted, at=c.at)
                    for c in consents
                ],
                events=[
                    EventRecord(name=e.name, properties=e.properties, at=e.at)
                    for e in reversed(events)
                ],
                source=row.source,
                timezone=row.timezone,
            )

    def customer_timezone(self, customer_id: str) -> str | None:
        """The customer's own timezone (None: the workspace default); NotFound if unknown."""
        with self._db.read() as s, s.begin():
            survivor = follow_id(s, customer_id)
            return s.execute(
                select(CustomerRow.__table__.c.timezone).where(CustomerRow.id == survivor)
            ).scalar()

    def put_customer(self, customer: Customer) -> None:
        """Write a profile as given (seeding, imports); listed identities move to it."""
        segments = self.segment_index()

        def work(s: Session) -> None:
            now = utcnow()
            row = s.get(CustomerRow, customer.id, with_for_update=True)
            if row is not None and row.merged_into is not None:
                row = follow(s, row.id, lock=True)  # a merged id writes to its survivor
            if row is None:
                row = CustomerRow(id=customer.id, created_at=now)
                s.add(row)
            before, row.attributes = row.attributes or {}, dict(customer.attributes)
            row.follows_wechat = customer.follows_wechat
            row.timezone = customer.timezone
            row.source = dict(customer.source)
            row.wecom_owner_userid = customer.identities.get("wecom_owner_userid")
            s.flush()
            if clinic_moved(before, row.attributes):
                follow_clinic(s, row.id)
            for kind, value in customer.identities.items():
                if kind in IDENTITY_KINDS and kind != "customer_id":
                    stmt = self._db.insert(IdentityRow).values(
                        kind=kind, namespace="", value=value, customer_id=row.id, created_at=now
                    )
                    s.execute(
                        stmt.on_conflict_do_update(
                            index_elements=["kind", "namespace", "value"],
                            set_={"customer_id": row.id},
                        )
                    )
            s.execute(
                delete(TagRow).where(
                    TagRow.customer_id == row.id, TagRow.tag.not_in(list(customer.tags))
                )
            )
            for tag, source in customer.tags.items():
                stmt = self._db.insert(TagRow).values(
                    customer_id=row.id, tag=tag, source=source, at=now
                )
                s.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["customer_id", "tag"], set_={"source": source}
                    )
                )
            known = {
                (c.purpose, c.channel, c.granted, c.at)
                for c in s.scalars(select(ConsentRow).where(ConsentRow.customer_id == row.id))
            }
            for c in customer.consents:
                if (c.purpose, c.channel, c.granted, c.at) not in known:
                    s.add(
                        ConsentRow(
                            customer_id=row.id,
                            purpose=c.purpose,
                            channel=c.channel,
                            granted=c.granted,
                            source="import",
                            at=c.at,
                        )
                    )
            rows = [
                {
                    "message_id": _event_id(row.id, e),
                    "customer_id": row.id,
                    "name": e.name,
                    "properties": e.properties,
                    "at": e.at,
                }
                for e in customer.events
            ]
            self._db.insert_ignore(s, EventRow, rows)
            if segments:
                s.flush()  # the segments read the profile back with queries
                reevaluate(s, segments, row.id, EVERYTHING, now)

        self._write_retrying(work)

    def change_tags(
        self, customer_id: str, add: list[str], remove: list[str], source: str
    ) -> list[str]:
        changes = self.tag(customer_id, add, remove, source, at=utcnow())
        return [f"{'+' if c.added else '-'}{c.tag}" for c in changes]

    def tag(
        self,
        customer_id: str,
        add: list[str],
        remove: list[str],
        source: str,
        *,
        at: datetime,
        context: dict[str, Any] | None = None,
    ) -> list[TagChange]:
        """Add and remove tags; only real changes come back (and go into the history,
        an added tag with ``context``, so a dispatch done later starts its journeys
        with the request's context)."""
        segments = self.segment_index()
        with self._db.write() as s, s.begin():
            cid = follow(s, customer_id).id
            changes: list[TagChange] = []
            for tag in dict.fromkeys(add):
                row = {"customer_id": cid, "tag": tag, "source": source, "at": at}
                if self._db.insert_ignore(s, TagRow, [row]):
                    changes.append(
                        TagChange(
                            customer_id=cid, tag=tag, added=True, source=source, context=context
                        )
                    )
            for tag in dict.fromkeys(remove):
                gone = s.execute(
                    delete(TagRow)
                    .where(TagRow.customer_id == cid, TagRow.tag == tag)
                    .returning(TagRow.tag)
                ).all()
                if gone:
                    changes.append(TagChange(customer_id=cid, tag=tag, added=False, source=source))
            # An added tag waits for the tag_added triggers (the dispatcher, or its sweep
            # for a tag added in the worker); a removal starts nothing.
            history = [
                TagHistoryRow(
                    customer_id=cid,
                    tag=c.tag,
                    added=c.added,
                    source=source,
                    at=at,
                    dispatched_at=None if c.added else at,
                    context=context if c.added else None,
                )
                for c in changes
            ]
            s.add_all(history)
            if changes:
                s.flush()
                for change, written in zip(changes, history, strict=True):
                    change.history_id = written.id
                reevaluate(s, segments, cid, Touch(tags=[c.tag for c in changes]), utcnow())
            return changes

    def set_attributes(self, customer_id: str, values: dict[str, Any]) -> list[str]:
        """Shallow update of the attributes; the keys whose value changed."""
        segments = self.segment_index()
        with self._db.write() as s, s.begin():
            row = follow(s, customer_id, lock=True)
            changed = [k for k, v in values.items() if row.attributes.get(k) != v]
            if changed:
                before, row.attributes = row.attributes, {**row.attributes, **values}
                s.flush()  # the segments below read the attributes with a query
                if clinic_moved(before, row.attributes):
                    follow_clinic(s, row.id)
                reevaluate(s, segments, row.id, Touch(attributes=changed), utcnow())
            return changed

    def undispatched_tags(
        self, before: datetime, limit: int = 200, *, now: datetime | None = None
    ) -> list[TagChange]:
        """Tags added before ``before`` that the tag_added triggers never heard of, and
        every such tag a journey step added (no request dispatches those, so there is no
        dispatch in flight to wait for); oldest first, under the customer's current id,
        with the context they were added with. Those waiting out a failed dispatch's
        backoff at ``now``, or parked, are left out."""
        held = not_held("tag", TagHistoryRow.id, now or utcnow())
        with self._db.read() as s, s.begin():
            rows = list(
                s.scalars(
                    select(TagHistoryRow)
                    .where(
                        TagHistoryRow.dispatched_at.is_(None),
                        or_(TagHistoryRow.at < before, TagHistoryRow.source.startswith("journey:")),
                        held,
                    )
                    .order_by(TagHistoryRow.id)
                    .limit(limit)
                )
            )
            return [
                TagChange(
                    customer_id=follow_id(s, r.customer_id),
                    tag=r.tag,
                    added=r.added,
                    source=r.source,
                    history_id=r.id,
                    context=r.context,
                )
                for r in rows
            ]

    def remember_tag_context(self, history_ids: list[int], context: dict[str, Any]) -> None:
        """Keep ``context`` with these added tags not dispatched yet (a dispatch that
        could not finish: the sweep starts their journeys with it)."""
        if not history_ids:
            return
        with self._db.write() as s, s.begin():
            s.execute(
                update(TagHistoryRow)
                .where(
                    TagHistoryRow.id.in_(history_ids),
                    TagHistoryRow.dispatched_at.is_(None),
                )
                .values(context=context)
            )

    def mark_tags_dispatched(self, history_ids: list[int], *, at: datetime) -> None:
        """Record that the tag_added triggers heard of these added tags."""
        if not history_ids:
            return
        with self._db.write() as s, s.begin():
            s.execute(
                update(TagHistoryRow)
                .where(TagHistoryRow.id.in_(history_ids), TagHistoryRow.dispatched_at.is_(None))
                .values(dispatched_at=at)
            )

    def record_consent(self, customer_id: str, change: ConsentChange) -> None:
        """Append a consent record (history is never rewritten)."""
        segments = self.segment_index()
        with self._db.write() as s, s.begin():
            cid = follow(s, customer_id).id
            s.add(ConsentRow(customer_id=cid, **change.model_dump()))
            if segments.consent:
                s.flush()
                reevaluate(s, segments, cid, Touch(consent=True), utcnow())

    def list_identities(self, customer_id: str) -> list[tuple[str, str, str]]:
        """(kind, namespace, value) of every identity of the customer (its survivor)."""
        with self._db.read() as s, s.begin():
            cid = follow(s, customer_id).id
            rows = s.execute(
                select(IdentityRow.kind, IdentityRow.namespace, IdentityRow.value)
                .where(IdentityRow.customer_id == cid)
                .order_by(IdentityRow.kind, IdentityRow.namespace, IdentityRow.value)
            )
            return [(k, n, v) for k, n, v in rows]

    def customer_clinics(self, customer_ids: Sequence[str]) -> dict[str, str | None]:
        """The ``clinic_id`` attribute of each customer's survivor, by the id asked
        (None: no clinic); unknown ids are left out. Who may see a customer is decided
        on it (``engine.store.access``)."""
        found: dict[str, str | None] = {}
        with self._db.read() as s, s.begin():
            for customer_id in dict.fromkeys(customer_ids):
                try:
                    clinic = follow(s, customer_id).attributes.get("clinic_id")
                except NotFound:
                    continue
                found[customer_id] = None if clinic is None else str(clinic)
        return found

    def list_merges(self, customer_id: str | None = None) -> list[MergeRecord]:
        """Merges, oldest first; with an id, those it survived or was merged by."""
        stmt = select(MergeRow).order_by(MergeRow.id)
        if customer_id is not None:
            stmt = stmt.where(
                or_(MergeRow.survivor_id == customer_id, MergeRow.merged_id == customer_id)
            )
        with self._db.read() as s, s.begin():
            return [
                MergeRecord(
                    survivor_id=m.survivor_id, merged_id=m.merged_id, reason=m.reason, at=m.at
                )
                for m in s.scalars(stmt)
            ]


def _event_id(customer_id: str, event: EventRecord) -> str:
    # Events written with a profile have no message id: derive one from their content,
    # so writing the same profile twice stores each event once.
    raw = json.dumps(
        [customer_id, event.name, event.at.isoformat(), event.properties],
        sort_keys=True,
        default=str,
    )
    return "put:" + hashlib.sha256(raw.encode()).hexdigest()[:32]
