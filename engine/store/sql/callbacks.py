"""Platform callbacks acted on once, and the first touch they may bring.

WeChat, WeCom and Tencent Cloud SMS retry a callback they think was not taken (no
answer within 5 seconds, a dropped connection), so the same callback can arrive
several times, even concurrently. ``first_time`` remembers each one's key under the
table's primary key: the insert decides, so two concurrent repeats cannot both be
first.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import delete

from engine.models.segment_index import Touch
from engine.store.sql.common import SqlPart, follow
from engine.store.sql.segments import reevaluate
from engine.store.sql.tables import CallbackReceiptRow

#: The key column's width; longer keys are kept as their sha256.
KEY_LENGTH = 255


def _fit(key: str) -> str:
    return key if len(key) <= KEY_LENGTH else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class CallbacksPart(SqlPart):
    def first_time(self, key: str, at: datetime) -> bool:
        """Remember ``key``; True only the first time it is seen."""
        with self._db.write() as s, s.begin():
            row = {"key": _fit(key), "at": at}
            return self._db.insert_ignore(s, CallbackReceiptRow, [row]) == 1

    def forget_callback(self, key: str) -> None:
        """Forget ``key``: acting on its callback failed, so the platform's retry must act."""
        with self._db.write() as s, s.begin():
            s.execute(delete(CallbackReceiptRow).where(CallbackReceiptRow.key == _fit(key)))

    def set_source_once(self, customer_id: str, source: dict[str, Any], *, at: datetime) -> bool:
        """Set the customer's first-touch attribution (with ``at``) unless one is set
        already; True when this touch became it. Later touches never overwrite it."""
        segments = self.segment_index()
        with self._db.write() as s, s.begin():
            row = follow(s, customer_id, lock=True)
            if row.source:
                return False
            row.source = {**source, "at": at.isoformat()}
            if segments.source:
                s.flush()
                reevaluate(s, segments, row.id, Touch(source=True), at)
            return True
