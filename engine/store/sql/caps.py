"""Frequency caps: sends reserved per customer, purpose, channel, day and month.

A reservation is one transaction that locks the customer's row (FOR UPDATE on
PostgreSQL; SQLite has one writer at a time anyway), counts the slots the checks
cover and inserts its own, so two journeys racing for a customer's last slot are
counted one after the other: one gets it, the other is told which cap is full. The
slot's key is the delivery's idempotency key: a retried activity finds its slot.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.store.records import CapCheck, SendSlot
from engine.store.sql.common import SqlPart, follow_id
from engine.store.sql.tables import SendSlotRow


class CapsPart(SqlPart):
    def reserve_send(self, slot: SendSlot, checks: list[CapCheck]) -> str | None:
        """Take ``slot`` (None) or name the first full cap; a held key is None."""

        def work(s: Session) -> str | None:
            # The lock comes first: whoever holds it sees every slot committed before.
            customer_id = follow_id(s, slot.customer_id, lock=True)
            if s.get(SendSlotRow, slot.key) is not None:
                return None
            for check in checks:
                column, period = (
                    (SendSlotRow.day, slot.day)
                    if check.per == "day"
                    else (SendSlotRow.month, slot.month)
                )
                query = select(func.count()).where(
                    SendSlotRow.customer_id == customer_id,
                    SendSlotRow.purpose == slot.purpose,
                    column == period,
                )
                if check.channel is not None:
                    query = query.where(SendSlotRow.channel == check.channel)
                if s.execute(query).scalar_one() >= check.limit:
                    return check.reason
            s.add(SendSlotRow(**slot.model_dump(exclude={"customer_id"}), customer_id=customer_id))
            return None

        return self._write_retrying(work)

    def release_send(self, key: str) -> None:
        """Give the slot back: the provider refused, nothing reached the customer."""
        with self._db.write() as s, s.begin():
            s.execute(delete(SendSlotRow).where(SendSlotRow.key == key))
