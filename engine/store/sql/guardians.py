"""Guardians of minors: links from a customer (the child) to other customers.

Links are kept when undone (``unlinked_at``), so who could receive a child's messages
at any time stays auditable. Ids are followed through merges on every read and write:
a guardian merged into another customer is that customer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.errors import Conflict
from engine.store.records import GuardianLink
from engine.store.sql.common import SqlPart, follow_id
from engine.store.sql.tables import CustomerRow, GuardianLinkRow

__all__ = ["GuardiansPart"]


class GuardiansPart(SqlPart):
    def link_guardian(
        self,
        customer_id: str,
        guardian_id: str,
        *,
        relation: str | None = None,
        source: str = "api",
        at: datetime,
    ) -> bool:
        """Link a guardian; False when already linked (nothing changes)."""

        def work(s: Session) -> bool:
            child = follow_id(s, customer_id, lock=True)
            guardian = follow_id(s, guardian_id)
            if child == guardian:
                raise Conflict(f"customer {child!r} cannot be their own guardian")
            if _current(s, child, guardian) is not None:
                return False
            s.add(
                GuardianLinkRow(
                    customer_id=child,
                    guardian_id=guardian,
                    relation=relation,
                    source=source,
                    linked_at=at,
                )
            )
            return True

        return self._write_retrying(work)

    def unlink_guardian(self, customer_id: str, guardian_id: str, *, at: datetime) -> bool:
        """End a link; False when the guardian was not linked."""
        with self._db.write() as s, s.begin():
            row = _current(s, follow_id(s, customer_id), follow_id(s, guardian_id))
            if row is None:
                return False
            row.unlinked_at = at
            return True

    def guardian_links(self, customer_id: str) -> list[GuardianLink]:
        """Every link of the customer, current and ended, in link order."""
        with self._db.read() as s, s.begin():
            rows = _rows(s, follow_id(s, customer_id))
            return [
                GuardianLink(
                    guardian_id=follow_id(s, r.guardian_id),
                    relation=r.relation,
                    source=r.source,
                    linked_at=r.linked_at,
                    unlinked_at=r.unlinked_at,
                )
                for r in rows
            ]

    def guardians_of(self, customer_id: str) -> list[str]:
        """Ids of the current guardians, in link order."""
        seen: list[str] = []
        for link in self.guardian_links(customer_id):
            if link.unlinked_at is None and link.guardian_id not in seen:
                seen.append(link.guardian_id)
        return seen


def _rows(s: Session, child: str) -> list[GuardianLinkRow]:
    """The links of ``child`` and of every customer merged into it (one hop: merges keep
    every merged id pointing at its survivor), in link order."""
    merged = select(CustomerRow.id).where(CustomerRow.merged_into == child)
    query = select(GuardianLinkRow).where(
        or_(GuardianLinkRow.customer_id == child, GuardianLinkRow.customer_id.in_(merged))
    )
    return list(s.scalars(query.order_by(GuardianLinkRow.id)).all())


def _current(s: Session, child: str, guardian: str) -> GuardianLinkRow | None:
    for row in _rows(s, child):
        if row.unlinked_at is None and follow_id(s, row.guardian_id) == guardian:
            return row
    return None
