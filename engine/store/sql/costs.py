"""Costs from ad platforms: rows of a day's spend on the dimensions they name.

A row sent again for the same day and dimensions replaces the stored one (the
platforms restate yesterday's spend as it settles), so imports can be repeated. The
unique key of ``costs`` says which row is "the same": an upsert on it, never a read
then a write, so concurrent imports cannot leave two rows. Amounts are kept in integer
fen and read back as yuan with two decimals, exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from engine.models.events import COST_DIMENSIONS, Cost
from engine.store.records import CostsWritten, StoredCost
from engine.store.sql.common import SqlPart
from engine.store.sql.tables import CostRow

_FEN = Decimal(100)
#: Key lookups per statement when counting which rows already exist.
_CHUNK = 500


def to_fen(amount: Decimal) -> int:
    """Yuan (two decimals at most) as integer fen."""
    return int((amount * _FEN).to_integral_value())


def _key(cost: Cost) -> tuple[Any, ...]:
    return (cost.date, *cost.dimensions().values())


def _stored(row: CostRow) -> StoredCost:
    named = {d: getattr(row, d) or None for d in COST_DIMENSIONS}
    return StoredCost(
        date=row.date,
        amount=Decimal(row.amount_fen).scaleb(-2),  # always two decimals: 80.00
        impressions=row.impressions,
        clicks=row.clicks,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        **named,
    )


def _existing(s: Session, keys: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    columns = (CostRow.date, *(getattr(CostRow, d) for d in COST_DIMENSIONS))
    found: set[tuple[Any, ...]] = set()
    for i in range(0, len(keys), _CHUNK):
        chunk = keys[i : i + _CHUNK]
        rows = s.execute(select(*columns).where(tuple_(*columns).in_(chunk)))
        found.update(tuple(r) for r in rows)
    return found


class CostsPart(SqlPart):
    def put_costs(self, costs: Sequence[Cost], *, source: str, at: datetime) -> CostsWritten:
        """Write ``costs`` in one transaction; a row with a stored row's day and
        dimensions replaces it (and a later row of ``costs`` an earlier one)."""
        latest: dict[tuple[Any, ...], Cost] = {}
        for cost in costs:
            latest[_key(cost)] = cost  # the last of repeated rows wins, as a resend would
        if not latest:
            return CostsWritten(created=0, replaced=0)
        with self._db.write() as s, s.begin():
            # Counted for the answer only; the upsert below is what keeps rows unique.
            existing = _existing(s, list(latest))
            for cost in latest.values():
                values = {
                    "amount_fen": to_fen(cost.amount),
                    "impressions": cost.impressions,
                    "clicks": cost.clicks,
                    "updated_at": at,
                    "updated_by": source,
                }
                stmt = self._db.insert(CostRow).values(
                    date=cost.date, **cost.dimensions(), **values
                )
                s.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["date", *COST_DIMENSIONS], set_=values
                    )
                )
        replaced = len(existing)
        return CostsWritten(created=len(latest) - replaced, replaced=replaced)

    def list_costs(
        self,
        start: date | None = None,
        end: date | None = None,
        *,
        clinic_id: str | None = None,
        limit: int = 10000,
    ) -> list[StoredCost]:
        """Cost rows with ``start <= date < end`` (either bound may be left out), by
        date and dimensions; only ``clinic_id``'s rows when one is named."""
        query = select(CostRow)
        if start is not None:
            query = query.where(CostRow.date >= start)
        if end is not None:
            query = query.where(CostRow.date < end)
        if clinic_id is not None:
            query = query.where(CostRow.clinic_id == clinic_id)
        order = (CostRow.date, *(getattr(CostRow, d) for d in COST_DIMENSIONS))
        with self._db.read() as s, s.begin():
            rows = s.scalars(query.order_by(*order).limit(limit)).all()
            return [_stored(row) for row in rows]
