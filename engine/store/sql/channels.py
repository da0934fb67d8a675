"""Channel state: circuit breakers, subscribe-message balances, sends per customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models.segment_index import Touch
from engine.store.records import DeliveryRecord
from engine.store.sql.circuits import CircuitsPart
from engine.store.sql.common import follow, follow_id
from engine.store.sql.segments import reevaluate
from engine.store.sql.tables import CircuitRow, ConsentRow, DeliveryRow, SubscribeBalanceRow


class ChannelStatePart(CircuitsPart):
    """Quota windows here; circuits of configuration errors in ``CircuitsPart``."""

    def circuit(self, channel: str, now: datetime) -> tuple[datetime, str] | None:
        """(open until, why) while the channel's circuit is open, else None."""
        with self._db.read() as s, s.begin():
            row = s.get(CircuitRow, channel)
            if row is None or row.open_until <= now:
                return None
            return row.open_until, row.reason

    def open_circuit(self, channel: str, until: datetime, reason: str, at: datetime) -> None:
        """Stop calling ``channel`` until ``until`` (a later opening extends it)."""

        def work(s: Session) -> None:
            row = s.get(CircuitRow, channel, with_for_update=True)
            if row is None:
                s.add(CircuitRow(channel=channel, open_until=until, reason=reason, opened_at=at))
            elif row.open_until < until:
                row.open_until, row.reason, row.opened_at = until, reason, at

        self._write_retrying(work)

    def subscribe_balance(self, customer_id: str, template_id: str) -> int | None:
        """Subscribe-message consents held for the template; None when never recorded."""
        with self._db.read() as s, s.begin():
            row = s.get(SubscribeBalanceRow, (follow_id(s, customer_id), template_id))
            return None if row is None else row.balance

    def change_subscribe_balance(
        self,
        customer_id: str,
        template_id: str,
        *,
        delta: int = 0,
        set_to: int | None = None,
        at: datetime,
    ) -> int:
        """Add ``delta`` (never below zero) or set the balance; the new balance."""

        def work(s: Session) -> int:
            cid = follow_id(s, customer_id, lock=True)
            row = s.get(SubscribeBalanceRow, (cid, template_id), with_for_update=True)
            if row is None:
                row = SubscribeBalanceRow(
                    customer_id=cid, template_id=template_id, balance=0, updated_at=at
                )
                s.add(row)
            row.balance = max(0, set_to if set_to is not None else row.balance + delta)
            row.updated_at = at
            return row.balance

        return self._write_retrying(work)

    def count_deliveries(self, customer_id: str, channel: str, since: datetime) -> int:
        """Calls made on ``channel`` for the customer since ``since``."""
        with self._db.read() as s, s.begin():
            query = select(func.count()).where(
                DeliveryRow.customer_id == follow_id(s, customer_id),
                DeliveryRow.channel == channel,
                DeliveryRow.at >= since,
            )
            return int(s.execute(query).scalar_one())

    def awaiting_results(
        self, channel: str, since: datetime, limit: int = 200
    ) -> list[DeliveryRecord]:
        """Accepted sends on ``channel`` since ``since`` whose final result is not known
        yet (WeCom tasks wait for the staff member), oldest first."""
        query = (
            select(DeliveryRow)
            .where(
                DeliveryRow.channel == channel,
                DeliveryRow.outcome == "accepted",
                DeliveryRow.provider_ref.is_not(None),
                DeliveryRow.result_at.is_(None),
                DeliveryRow.at >= since,
            )
            .order_by(DeliveryRow.at)
            .limit(limit)
        )
        with self._db.read() as s, s.begin():
            return [
                DeliveryRecord.model_validate(r, from_attributes=True) for r in s.scalars(query)
            ]

    def result_known(self, key: str, at: datetime) -> None:
        """The send's final result was read back: stop asking."""
        with self._db.write() as s, s.begin():
            row = s.get(DeliveryRow, key)
            if row is not None and row.result_at is None:
                row.result_at = at

    def set_follows_wechat(self, customer_id: str, follows: bool) -> None:
        with self._db.write() as s, s.begin():
            follow(s, customer_id, lock=True).follows_wechat = follows

    def withdraw_consent(
        self, customer_id: str, purpose: str, channel: str | None, source: str, at: datetime
    ) -> None:
        """Append a withdrawal (the ledger is never rewritten)."""
        segments = self.segment_index()
        with self._db.write() as s, s.begin():
            cid = follow_id(s, customer_id)
            s.add(
                ConsentRow(
                    customer_id=cid,
                    purpose=purpose,
                    channel=channel,
                    granted=False,
                    source=source,
                    at=at,
                )
            )
            if segments.consent:
                s.flush()
                reevaluate(s, segments, cid, Touch(consent=True), at)
