"""Attribution in the SQL store: QR and contact-me codes, touches, the first touch once.

A touch is inserted under the message id of the event that brought it (a retried
event or callback adds none), then becomes the customer's first touch through
``set_source_once`` when they have none yet (the customer's row locked, written only
while empty, so never overwritten; segments reading ``source`` are re-evaluated there).
A tracked event costs this only when it carries UTM fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, aliased

from engine.models.attribution import (
    ATTRIBUTION_FIELDS,
    CodeKind,
    NewTouch,
    QrCodeRecord,
    SourceRow,
)
from engine.store.sql.common import SqlPart, follow_id
from engine.store.sql.db import Sessions
from engine.store.sql.tables import EnrollmentRow, QrCodeRow, TouchRow

_LIMITS = {"channel": 64, "activity": 128, "clinic": 128, "doctor": 128, "scene": 64}


def _text(value: Any, field: str) -> str | None:
    return None if value in (None, "") else str(value)[: _LIMITS[field]]


def insert_touch(db: Sessions, s: Session, customer_id: str, touch: NewTouch) -> int | None:
    """Record ``touch`` in the caller's transaction; its row id, None when its message
    id was seen before."""
    fields = touch.fields
    row = {
        "message_id": touch.message_id,
        "customer_id": customer_id,
        "kind": touch.kind,
        **{k: _text(fields.get(k), k) for k in ATTRIBUTION_FIELDS},
        "scene": _text(fields.get("scene") or fields.get("state"), "scene"),
        "code_id": touch.code_id,
        "fields": dict(fields),
        "first": False,
        "at": touch.at,
    }
    stmt = db.insert(TouchRow).values(**row)
    if touch.message_id is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["message_id"])
    inserted = s.execute(stmt.returning(TouchRow.id)).first()
    return None if inserted is None else int(inserted[0])


def merge_touches(s: Session, survivor_id: str, other_id: str, survivor_had_source: bool) -> None:
    """A merge moves the other's touches; the survivor's first touch stays the first."""
    values: dict[str, Any] = {"customer_id": survivor_id}
    if survivor_had_source:
        values["first"] = False
    s.execute(
        update(TouchRow)
        .where(TouchRow.customer_id == other_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def _record(row: QrCodeRow) -> QrCodeRecord:
    return QrCodeRecord.model_validate(
        {c.key: getattr(row, c.key) for c in QrCodeRow.__table__.columns}
    )


class TouchesPart(SqlPart):
    if TYPE_CHECKING:  # CallbacksPart's, in the same SqlStore

        def set_source_once(
            self, customer_id: str, source: dict[str, Any], *, at: datetime
        ) -> bool: ...

    def record_touch(self, customer_id: str, touch: NewTouch) -> bool | None:
        """Record a touch (once per message id) and make it the customer's first touch
        when they have none (``set_source_once``: never overwritten); whether it became
        the first touch, None for a repeat of a touch already recorded."""

        def work(s: Session) -> tuple[str, int | None]:
            cid = follow_id(s, customer_id)
            return cid, insert_touch(self._db, s, cid, touch)

        cid, row_id = self._write_retrying(work)
        # Tried for a repeat too: a failure after the insert must not lose the first touch.
        first = self.set_source_once(cid, dict(touch.fields), at=touch.at)
        if first:
            mine = TouchRow.id == row_id if row_id is not None else None
            if mine is None and touch.message_id is not None:
                mine = TouchRow.message_id == touch.message_id
            if mine is not None:
                with self._db.write() as s, s.begin():
                    s.execute(update(TouchRow).where(mine).values(first=True))
        return None if row_id is None else first

    def record_touches(self, touches: Sequence[tuple[str, NewTouch]]) -> int:
        """Record several touches (a tracked batch's UTM visits); how many were new."""
        return sum(self.record_touch(cid, touch) is not None for cid, touch in touches)

    def list_touches(self, customer_id: str, limit: int = 100) -> list[NewTouch]:
        """The customer's touches, newest first."""
        with self._db.read() as s, s.begin():
            cid = follow_id(s, customer_id)
            rows = s.scalars(
                select(TouchRow)
                .where(TouchRow.customer_id == cid)
                .order_by(TouchRow.at.desc(), TouchRow.id.desc())
                .limit(limit)
            )
            return [
                NewTouch(
                    message_id=r.message_id,
                    kind=r.kind,
                    fields=r.fields,
                    code_id=r.code_id,
                    at=r.at,
                )
                for r in rows
            ]

    # --- codes -----------------------------------------------------------------------

    def create_qrcode(self, code: QrCodeRecord) -> QrCodeRecord:
        """Store a code carepath created."""
        with self._db.write() as s, s.begin():
            s.add(QrCodeRow(**code.model_dump()))
        return code

    def find_qrcode(self, kind: CodeKind, scene: str) -> QrCodeRecord | None:
        """The newest code of ``kind`` with this scene (or state)."""
        with self._db.read() as s, s.begin():
            row = s.scalars(
                select(QrCodeRow)
                .where(QrCodeRow.kind == kind, QrCodeRow.scene == scene)
                .order_by(QrCodeRow.created_at.desc())
                .limit(1)
            ).first()
            return None if row is None else _record(row)

    def list_qrcodes(
        self, kind: CodeKind | None = None, limit: int = 100
    ) -> list[tuple[QrCodeRecord, dict[str, int]]]:
        """Codes, newest first, each with its touches counted by kind and ``customers``
        (how many became customers' first touch)."""
        with self._db.read() as s, s.begin():
            query = select(QrCodeRow).order_by(QrCodeRow.created_at.desc()).limit(limit)
            if kind is not None:
                query = query.where(QrCodeRow.kind == kind)
            codes = [_record(r) for r in s.scalars(query)]
            counts: dict[str, dict[str, int]] = {c.id: {} for c in codes}
            if codes:
                rows = s.execute(
                    select(TouchRow.code_id, TouchRow.kind, TouchRow.first, func.count())
                    .where(TouchRow.code_id.in_(list(counts)))
                    .group_by(TouchRow.code_id, TouchRow.kind, TouchRow.first)
                )
                for code_id, touch_kind, first, n in rows:
                    tally = counts[str(code_id)]
                    tally[touch_kind] = tally.get(touch_kind, 0) + int(n)
                    if first:
                        tally["first_touches"] = tally.get("first_touches", 0) + int(n)
            return [(c, counts[c.id]) for c in codes]

    # --- report ----------------------------------------------------------------------

    def source_report(self, by: Sequence[str], *, since: datetime | None = None) -> list[SourceRow]:
        """Customers by first-touch fields ``by`` (of channel, activity, clinic, doctor),
        with their touches and conversions; first touches since ``since`` only."""
        first = aliased(TouchRow)
        dims = [getattr(first, name) for name in by]
        where: list[ColumnElement[bool]] = [first.first.is_(True)]
        if since is not None:
            where.append(first.at >= since)
        other = aliased(TouchRow)
        with self._db.read() as s, s.begin():
            customers = s.execute(
                select(*dims, func.count(first.id)).where(*where).group_by(*dims)
            ).all()
            touches = s.execute(
                select(*dims, func.count(other.id))
                .join(other, other.customer_id == first.customer_id)
                .where(*where)
                .group_by(*dims)
            ).all()
            converted = s.execute(
                select(*dims, func.count(func.distinct(first.customer_id)))
                .join(EnrollmentRow, EnrollmentRow.customer_id == first.customer_id)
                .where(*where, EnrollmentRow.status == "converted")
                .group_by(*dims)
            ).all()
        n = len(dims)
        touch_counts = {tuple(r[:n]): int(r[n]) for r in touches}
        converted_counts = {tuple(r[:n]): int(r[n]) for r in converted}
        out = [
            SourceRow(
                **dict(zip(by, key, strict=True)),
                customers=int(row[n]),
                touches=touch_counts.get(key, 0),
                converted=converted_counts.get(key, 0),
            )
            for row in customers
            if (key := tuple(row[:n])) is not None
        ]
        return sorted(out, key=lambda r: (-r.customers, *(str(getattr(r, b)) for b in by)))
