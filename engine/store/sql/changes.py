"""The change log's store part: append a line, read lines newest first.

``append_change`` writes within a caller's transaction, so a change the store makes
itself (a user created or disabled) and its line commit together; ``record_change``
is its own transaction, for changes made through other store methods.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.models.changes import ChangeAction, ChangeRecord, NewChange, SubjectKind
from engine.store.sql.common import SqlPart
from engine.store.sql.tables import ChangeRow

#: Most lines one read returns.
MAX_CHANGES = 500


def append_change(s: Session, change: NewChange) -> None:
    """Add ``change`` to the log in the session's transaction."""
    s.execute(insert(ChangeRow).values(**change.model_dump()))


def _record(row: ChangeRow) -> ChangeRecord:
    return ChangeRecord(
        id=row.id,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        customer_id=row.customer_id,
        detail=dict(row.detail),
    )


class ChangesPart(SqlPart):
    def record_change(self, change: NewChange) -> None:
        """Append ``change`` to the log (one transaction)."""
        with self._db.write() as s, s.begin():
            append_change(s, change)

    def list_changes(
        self,
        *,
        subject_kind: SubjectKind | None = None,
        subject_id: str | None = None,
        customer_ids: Sequence[str] | None = None,
        actions: Sequence[ChangeAction] | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[ChangeRecord]:
        """Lines of the log, newest first, matching every filter given; ``before`` is
        the ``id`` of the last line of the previous page."""
        query = select(ChangeRow).order_by(ChangeRow.id.desc()).limit(min(limit, MAX_CHANGES))
        if subject_kind is not None:
            query = query.where(ChangeRow.subject_kind == subject_kind)
        if subject_id is not None:
            query = query.where(ChangeRow.subject_id == subject_id)
        if customer_ids is not None:
            query = query.where(ChangeRow.customer_id.in_(list(customer_ids)))
        if actions is not None:
            query = query.where(ChangeRow.action.in_(list(actions)))
        if before is not None:
            query = query.where(ChangeRow.id < before)
        with self._db.read() as s, s.begin():
            return [_record(row) for row in s.scalars(query)]
