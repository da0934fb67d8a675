"""The latest consent withdrawals across customers, for the operators' channels page.

The consent ledger is append-only and a merge moves a customer's rows to the survivor,
so every withdrawal is read once, under a live customer. Newest first by the time it
was withdrawn, then by row (two at the same instant: the later written first).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.store.opt_outs import OptOut
from engine.store.sql.common import SqlPart
from engine.store.sql.tables import ConsentRow, CustomerRow

#: Most withdrawals one read returns.
MAX_OPT_OUTS = 500


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


class OptOutsPart(SqlPart):
    def recent_opt_outs(self, limit: int = 50) -> list[OptOut]:
        """The latest ``limit`` consent withdrawals of live customers, newest first."""
        query = (
            select(ConsentRow, CustomerRow.attributes)
            .join(CustomerRow, CustomerRow.id == ConsentRow.customer_id)
            .where(ConsentRow.granted.is_(False), CustomerRow.merged_into.is_(None))
            .order_by(ConsentRow.at.desc(), ConsentRow.id.desc())
            .limit(max(0, min(limit, MAX_OPT_OUTS)))
        )
        with self._db.read() as s, s.begin():
            return [
                OptOut(
                    id=row.id,
                    customer_id=row.customer_id,
                    name=_text(attributes.get("name")),
                    clinic_id=_text(attributes.get("clinic_id")),
                    purpose=row.purpose,
                    channel=row.channel,
                    source=row.source,
                    at=row.at,
                )
                for row, attributes in s.execute(query)
            ]
