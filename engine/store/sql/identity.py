"""Identity resolution: find, create or merge customers by the identities they share.

Only identities link customers (phone, openids, unionid, WeCom contact, HIS id, our
own id); names and attributes never do. When one request names identities held by
several customers, they are one person: the earliest created customer survives and
the others are merged into it, all in one transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from engine.errors import NotFound, StoreRetry
from engine.models.segment_index import EVERYTHING, Touch
from engine.store.records import Identities, IdentityKind, MergeRecord, ResolveResult
from engine.store.sql.clinic_tallies import clinic_moved, follow_clinic
from engine.store.sql.common import SqlPart, follow, follow_id
from engine.store.sql.segments import merge_memberships, reevaluate
from engine.store.sql.tables import (
    Base,
    ConsentRow,
    CustomerRow,
    EnrollmentRow,
    EventRow,
    IdentityRow,
    MergeRow,
    SubscribeBalanceRow,
    TagHistoryRow,
    TagRow,
    TaskRow,
)
from engine.store.sql.touches import merge_touches

Key = tuple[IdentityKind, str, str]


class IdentityPart(SqlPart):
    def resolve(
        self, identities: Identities, *, create: bool = True, at: datetime
    ) -> ResolveResult:
        """The customer these identities name: found, created, or several merged."""
        known = self._known(identities)
        if known is not None:
            return ResolveResult(customer_id=known)
        segments = self.segment_index()

        def work(s: Session) -> ResolveResult:
            result = _resolve(s, identities, create, at)
            if (result.created or result.merges) and segments:
                reevaluate(s, segments, result.customer_id, EVERYTHING, at)
            return result

        return self._write_retrying(work)

    def _known(self, identities: Identities) -> str | None:
        """The one customer every given identity already names, read without the write
        lock (most ingest names a known customer); None when anything must change."""
        keys = identities.keys()
        if not keys:
            return None
        with self._db.read() as s, s.begin():
            owners = {_owner(s, key) for key in keys}
            if len(owners) != 1 or None in owners:
                return None
            (owner,) = owners
            assert owner is not None
            if identities.wecom_owner_userid:
                row = s.get(CustomerRow, owner)
                if row is None or row.wecom_owner_userid != identities.wecom_owner_userid:
                    return None
            return owner

    def identify(
        self, identities: Identities, attributes: dict[str, Any], *, at: datetime
    ) -> ResolveResult:
        """Resolve (creating when new), then shallow-update the customer's attributes."""

        segments = self.segment_index()

        def work(s: Session) -> ResolveResult:
            result = _resolve(s, identities, True, at)
            if attributes:
                row = follow(s, result.customer_id)
                before, row.attributes = row.attributes, {**row.attributes, **attributes}
                s.flush()  # the segments below read the attributes with a query
                if not result.created and clinic_moved(before, row.attributes):
                    follow_clinic(s, row.id)
            if segments:
                touch = (
                    EVERYTHING
                    if result.created or result.merges
                    else Touch(attributes=list(attributes))
                )
                reevaluate(s, segments, result.customer_id, touch, at)
            return result

        return self._write_retrying(work)


def _resolve(s: Session, identities: Identities, create: bool, at: datetime) -> ResolveResult:
    key = single_key(identities)
    if key is not None:
        # Most requests: one identity of a known, unmerged customer; found and locked
        # against a concurrent merge in one read.
        row = s.execute(_OWNER_LOCKED, key_params(key)).first()
        if row is not None and row.merged_into is None:
            return ResolveResult(customer_id=row.id)
    return resolve_by_keys(s, identities, create, at)


def resolve_by_keys(
    s: Session, identities: Identities, create: bool, at: datetime
) -> ResolveResult:
    """``_resolve`` without its one-read fast path, for a caller that tried its own
    (ingest reads the running enrollments with it): identity by identity, creating,
    attaching and merging as needed."""
    keys = identities.keys()
    if not keys:
        raise ValueError("give at least one identity (phone, wechat_openid, customer_id, ...)")
    found: dict[str, list[Key]] = {}
    missing: list[Key] = []
    for key in keys:
        owner = _owner(s, key)
        if owner is None:
            missing.append(key)
        else:
            found.setdefault(owner, []).append(key)
    if len(found) == 1 and not missing and not identities.wecom_owner_userid:
        # The common case (a known customer named again): nothing to merge or attach.
        # Lock the survivor against a concurrent merge, as the general path does.
        (owner,) = found
        if follow_id(s, owner, lock=True) != owner:
            raise StoreRetry  # merged by a concurrent request since we looked: look again
        return ResolveResult(customer_id=owner)
    if not found:
        if not create:
            raise NotFound(f"no customer with {_describe(keys)}")
        customer_id = identities.customer_id or f"c-{uuid.uuid4().hex[:12]}"
        # A concurrent resolve of the same identities inserts the same primary keys:
        # the loser gets IntegrityError, retries and finds the winner's customer.
        s.add(
            CustomerRow(
                id=customer_id,
                attributes={},
                source={},
                follows_wechat=False,
                wecom_owner_userid=identities.wecom_owner_userid,
                created_at=at,
            )
        )
        s.flush()
        _attach(s, customer_id, missing, at)
        return ResolveResult(customer_id=customer_id, created=True)

    # Lock in id order, so two merges of overlapping customers cannot deadlock.
    rows = [
        s.get(CustomerRow, cid, with_for_update=True, populate_existing=True)
        for cid in sorted(found)
    ]
    if any(r is None or r.merged_into is not None for r in rows):
        raise StoreRetry  # merged by a concurrent request since we looked: look again
    ordered = sorted((r for r in rows if r is not None), key=lambda r: (r.created_at, r.id))
    survivor = ordered[0]
    merges = [_merge(s, survivor, other, found, at) for other in ordered[1:]]
    _attach(s, survivor.id, missing, at)
    if identities.wecom_owner_userid:
        survivor.wecom_owner_userid = identities.wecom_owner_userid
    return ResolveResult(customer_id=survivor.id, merges=merges)


_IDENTITIES = IdentityRow.__table__.c
_CUSTOMER_IDS = CustomerRow.__table__.c
#: The identity row of ``key_params(key)``. Statements are built once: building one
#: per call cost more than executing it.
BY_KEY = (
    _IDENTITIES.kind == bindparam("kind"),
    _IDENTITIES.namespace == bindparam("namespace"),
    _IDENTITIES.value == bindparam("value"),
)
_OWNER = select(_IDENTITIES.customer_id).where(*BY_KEY)
_OWNER_LOCKED = (
    select(_CUSTOMER_IDS.id, _CUSTOMER_IDS.merged_into)
    .join_from(IdentityRow.__table__, CustomerRow.__table__)
    .where(*BY_KEY)
    .with_for_update(of=CustomerRow.__table__)
)


def single_key(identities: Identities) -> Key | None:
    """The identity, when a request names its customer by exactly one identity row
    (not our own id, no WeCom owner to record): the case the fast reads serve."""
    keys = identities.keys()
    if len(keys) != 1 or keys[0][0] == "customer_id" or identities.wecom_owner_userid:
        return None
    return keys[0]


def key_params(key: Key) -> dict[str, str]:
    """The bind parameters of ``BY_KEY``."""
    kind, namespace, value = key
    return {"kind": kind, "namespace": namespace, "value": value}


def _owner(s: Session, key: Key) -> str | None:
    kind, _, value = key
    if kind == "customer_id":
        # Our own id is the customer's primary key, not an identity row.
        try:
            return follow_id(s, value)
        except NotFound:
            return None
    owner = s.execute(_OWNER, key_params(key)).scalar()
    return None if owner is None else follow_id(s, owner)


def _attach(s: Session, customer_id: str, keys: list[Key], at: datetime) -> None:
    s.add_all(
        IdentityRow(kind=k, namespace=n, value=v, customer_id=customer_id, created_at=at)
        for k, n, v in keys
        if k != "customer_id"
    )
    s.flush()


def _merge(
    s: Session,
    survivor: CustomerRow,
    other: CustomerRow,
    found: dict[str, list[Key]],
    at: datetime,
) -> MergeRecord:
    """Move everything of ``other`` to ``survivor`` and mark ``other`` merged."""
    merge_touches(s, survivor.id, other.id, bool(survivor.source))
    for model in (IdentityRow, EventRow, ConsentRow, TagHistoryRow, EnrollmentRow, TaskRow):
        _move(s, model, other.id, survivor.id)
    _merge_tags(s, survivor.id, other.id)
    _merge_balances(s, survivor.id, other.id)
    merge_memberships(s, survivor.id, other.id)
    # The survivor's profile wins; the other fills what it lacks.
    survivor.attributes = {**other.attributes, **survivor.attributes}
    survivor.source = survivor.source or other.source
    survivor.follows_wechat = survivor.follows_wechat or other.follows_wechat
    survivor.timezone = survivor.timezone or other.timezone
    survivor.wecom_owner_userid = survivor.wecom_owner_userid or other.wecom_owner_userid
    other.merged_into = survivor.id
    s.flush()
    follow_clinic(s, survivor.id)  # the other's enrollments, and perhaps its clinic
    # Keep every merged id one hop from its survivor.
    s.execute(
        update(CustomerRow)
        .where(CustomerRow.merged_into == other.id)
        .values(merged_into=survivor.id)
        .execution_options(synchronize_session=False)
    )
    reason = (
        f"identities given together: {_describe(found[survivor.id])} (held by {survivor.id}) "
        f"and {_describe(found[other.id])} (held by {other.id})"
    )
    s.add(MergeRow(survivor_id=survivor.id, merged_id=other.id, reason=reason, at=at))
    return MergeRecord(survivor_id=survivor.id, merged_id=other.id, reason=reason, at=at)


def _move(s: Session, model: type[Base], old: str, new: str) -> None:
    column = model.__table__.c.customer_id
    s.execute(
        update(model)
        .where(column == old)
        .values({column: new})
        .execution_options(synchronize_session=False)
    )


def _merge_tags(s: Session, survivor_id: str, other_id: str) -> None:
    """Tags of both; where both have one, the earlier setting (and its source) stays."""
    mine = {t.tag: t for t in s.scalars(select(TagRow).where(TagRow.customer_id == survivor_id))}
    for theirs in s.scalars(select(TagRow).where(TagRow.customer_id == other_id)).all():
        kept = mine.get(theirs.tag)
        if kept is None:
            s.add(
                TagRow(customer_id=survivor_id, tag=theirs.tag, source=theirs.source, at=theirs.at)
            )
        elif theirs.at < kept.at:
            kept.source, kept.at = theirs.source, theirs.at
        s.delete(theirs)
    s.flush()


def _merge_balances(s: Session, survivor_id: str, other_id: str) -> None:
    """Subscribe-message consents of both add up, per template."""
    mine = {
        b.template_id: b
        for b in s.scalars(
            select(SubscribeBalanceRow).where(SubscribeBalanceRow.customer_id == survivor_id)
        )
    }
    theirs = s.scalars(
        select(SubscribeBalanceRow).where(SubscribeBalanceRow.customer_id == other_id)
    ).all()
    for row in theirs:
        kept = mine.get(row.template_id)
        if kept is None:
            s.add(
                SubscribeBalanceRow(
                    customer_id=survivor_id,
                    template_id=row.template_id,
                    balance=row.balance,
                    updated_at=row.updated_at,
                )
            )
        else:
            kept.balance += row.balance
        s.delete(row)
    s.flush()


def _describe(keys: list[Key]) -> str:
    return ", ".join(f"{k}={v}" if not n else f"{k}[{n}]={v}" for k, n, v in keys)
