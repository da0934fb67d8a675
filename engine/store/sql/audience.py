"""Who a segment or a rule names now: counts, keyset pages and export rows.

A deployed segment (a row in ``segments``) is read from its membership
(``segment_members`` with ``exited_at IS NULL``), which the segment engine keeps up
to date. A segment that is only part of a deployed journey bundle, and an ad-hoc rule
(``POST /v1/segments/preview``, ``carepath segment count``), are compiled to SQL by
``rules.sql``. Pages are ordered by customer id and continue after a cursor (the last
id of the previous page), so a page stays cheap however deep it is and a customer
who joins or leaves meanwhile moves no one else across a page boundary. Merged
customers are never members (their survivor is).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, func, null, or_, select

from engine.errors import NotFound
from engine.models.journey import Segment
from engine.store.sql.tables import (
    CustomerRow,
    EnrollmentRow,
    IdentityRow,
    SegmentMemberRow,
    SegmentRow,
)
from rules.models import RULE_KEYS, Rule, parse_rule
from rules.sql import customers_matching

if TYPE_CHECKING:
    from engine.store.sql import SqlStore

#: Columns of the CSV export, in order (documented in docs/decisions.md).
EXPORT_COLUMNS = ("customer_id", "entered_at", "name", "phone", "clinic_id", "timezone")


@dataclass(frozen=True)
class Member:
    """One member: ``entered_at`` is known for deployed segments only."""

    customer_id: str
    entered_at: datetime | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class SegmentDefinition:
    """A segment as deployed: ``membership`` says whether it has a membership table."""

    id: str
    name: str | None
    rule: Rule
    refresh: str | None
    deployed_at: datetime | None
    membership: bool


class Audience:
    """Reads over a SQL store's engine (both dialects)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._db = store._db  # the store's sessions: same pool, same SQLite functions
        self.dialect = self._db.dialect

    # ---- definitions -------------------------------------------------------------------

    def segments(self) -> list[SegmentDefinition]:
        """Deployed segments by id: the segment table's, then those only journeys carry."""
        out: dict[str, SegmentDefinition] = {}
        with self._db.read() as s, s.begin():
            for row in s.scalars(select(SegmentRow).order_by(SegmentRow.id)):
                out[row.id] = SegmentDefinition(
                    row.id, row.name, parse_rule(row.rule), row.refresh, row.deployed_at, True
                )
        for bundle in self.store.deployed_bundles():
            for sid, seg in bundle.segments.items():
                if sid not in out:
                    out[sid] = _from_model(seg)
        return [out[k] for k in sorted(out)]

    def segment(self, segment_id: str) -> SegmentDefinition:
        """One deployed segment; NotFound names the deployed ones."""
        with self._db.read() as s, s.begin():
            row = s.get(SegmentRow, segment_id)
            if row is not None:
                return SegmentDefinition(
                    row.id, row.name, parse_rule(row.rule), row.refresh, row.deployed_at, True
                )
        known = self.segments()
        for seg in known:
            if seg.id == segment_id:
                return seg
        names = ", ".join(s.id for s in known) or "none"
        raise NotFound(f"no deployed segment {segment_id!r} (deployed: {names})")

    def rules_of(self, segment_ids: Sequence[str] | None = None) -> dict[str, Rule]:
        """Rules of deployed segments that have no membership table (compiled inline);
        members of the others are read from their membership."""
        return {
            s.id: s.rule
            for s in self.segments()
            if not s.membership and (segment_ids is None or s.id in segment_ids)
        }

    # ---- members -----------------------------------------------------------------------

    def count(
        self,
        *,
        segment: str | None = None,
        rule: Rule | None = None,
        now: datetime,
        definitions: Mapping[str, Rule] | None = None,
    ) -> int:
        """How many live customers are members (of a deployed segment, or match a rule;
        ``definitions``: segments to compile inline, e.g. a workspace's files)."""
        stmt = self._members(segment, rule, now=now, definitions=definitions)
        with self._db.read() as s, s.begin():
            return int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0)

    def page(
        self,
        *,
        segment: str | None = None,
        rule: Rule | None = None,
        now: datetime,
        after: str | None = None,
        limit: int = 100,
        zones: Sequence[str | None] | None = None,
        definitions: Mapping[str, Rule] | None = None,
    ) -> list[Member]:
        """Up to ``limit`` members with ids after ``after``, by id; ``zones``: only
        customers with these profile timezones (None in it: those without one)."""
        stmt = self._members(segment, rule, now=now, definitions=definitions)
        if after is not None:
            stmt = stmt.where(CustomerRow.id > after)
        if zones is not None:
            named = [z for z in zones if z is not None]
            parts = [CustomerRow.timezone.in_(named)] if named else []
            if None in zones:
                parts.append(CustomerRow.timezone.is_(None))
            stmt = stmt.where(or_(*parts)) if parts else stmt.where(CustomerRow.id.is_(None))
        stmt = stmt.order_by(CustomerRow.id).limit(limit)
        with self._db.read() as s, s.begin():
            return [Member(cid, entered, tz) for cid, entered, tz in s.execute(stmt)]

    def export(
        self,
        *,
        segment: str | None = None,
        rule: Rule | None = None,
        now: datetime,
        page: int = 500,
    ) -> Iterator[dict[str, Any]]:
        """Every member as an export row (``EXPORT_COLUMNS``), page by page."""
        after: str | None = None
        while True:
            members = self.page(segment=segment, rule=rule, now=now, after=after, limit=page)
            if not members:
                return
            details = self._details([m.customer_id for m in members])
            for m in members:
                attributes, phone = details.get(m.customer_id, ({}, None))
                yield {
                    "customer_id": m.customer_id,
                    "entered_at": m.entered_at.isoformat() if m.entered_at else "",
                    "name": _text(attributes.get("name")),
                    "phone": phone or "",
                    "clinic_id": _text(attributes.get("clinic_id")),
                    "timezone": m.timezone or "",
                }
            after = members[-1].customer_id

    def timezones(self) -> list[str | None]:
        """The distinct profile timezones of live customers (None: no timezone)."""
        stmt = select(CustomerRow.timezone).where(CustomerRow.merged_into.is_(None)).distinct()
        with self._db.read() as s, s.begin():
            return list(s.scalars(stmt))

    def enrollments_of(self, journey_id: str, customer_ids: Sequence[str]) -> dict[str, list[Any]]:
        """customer id -> [(enrollment key, status)] of this journey, for a batch."""
        out: dict[str, list[Any]] = {}
        if not customer_ids:
            return out
        stmt = select(EnrollmentRow.customer_id, EnrollmentRow.key, EnrollmentRow.status).where(
            EnrollmentRow.journey_id == journey_id, EnrollmentRow.customer_id.in_(customer_ids)
        )
        with self._db.read() as s, s.begin():
            for cid, key, status in s.execute(stmt):
                out.setdefault(cid, []).append((key, status))
        return out

    # ---- SQL ---------------------------------------------------------------------------

    def _members(
        self,
        segment: str | None,
        rule: Rule | None,
        *,
        now: datetime,
        definitions: Mapping[str, Rule] | None = None,
    ) -> Select[str, datetime | None, str | None]:
        """(customer id, entered_at, timezone) of the members, unordered."""
        base = CustomerRow.merged_into.is_(None)
        if segment is not None:
            definition = self.segment(segment)
            if definition.membership:
                return (
                    select(
                        SegmentMemberRow.customer_id,
                        SegmentMemberRow.entered_at,
                        CustomerRow.timezone,
                    )
                    .join(CustomerRow, CustomerRow.id == SegmentMemberRow.customer_id)
                    .where(
                        and_(
                            SegmentMemberRow.segment_id == segment,
                            SegmentMemberRow.exited_at.is_(None),
                            base,
                        )
                    )
                )
            rule = definition.rule
        if rule is None:
            raise ValueError("give a segment or a rule")
        inline = {**self.rules_of(), **(definitions or {})}
        matching = customers_matching(
            rule, now=now, segments=inline, dialect=self.dialect
        ).subquery()
        return (
            select(
                CustomerRow.id,
                null().label("entered_at"),
                CustomerRow.timezone,
            )
            .join(matching, list(matching.c)[0] == CustomerRow.id)
            .where(base)
        )

    def _details(self, ids: Sequence[str]) -> dict[str, tuple[Mapping[str, Any], str | None]]:
        phones = (
            select(IdentityRow.customer_id, func.min(IdentityRow.value))
            .where(IdentityRow.kind == "phone", IdentityRow.customer_id.in_(ids))
            .group_by(IdentityRow.customer_id)
        )
        with self._db.read() as s, s.begin():
            by_id: dict[str, str] = {}
            for cid, phone in s.execute(phones):
                by_id[cid] = phone
            rows = s.execute(
                select(CustomerRow.id, CustomerRow.attributes).where(CustomerRow.id.in_(ids))
            )
            return {cid: (attrs or {}, by_id.get(cid)) for cid, attrs in rows}


def rule_field_path(loc: Sequence[Any]) -> list[Any]:
    """A rule's pydantic error location as the field an author wrote: pydantic puts the
    union member's tag (a rule key) before each rule's own fields, so
    ('all', 'all', 1, 'attribute', 'eq') is the field all.1.eq."""
    out: list[Any] = []
    tag_next = True
    for part in loc:
        if tag_next and part in RULE_KEYS:
            tag_next = False
            continue
        out.append(part)
        tag_next = isinstance(part, int) or part == "not"
    return out


def _from_model(seg: Segment) -> SegmentDefinition:
    return SegmentDefinition(seg.id, seg.name, seg.rule, seg.refresh, None, False)


def _text(value: Any) -> str:
    return "" if value is None else str(value)
