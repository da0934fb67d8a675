"""What sending touches: deliveries (one per provider call), channel circuits,
subscribe-message balances, frequency-cap slots and platform callbacks already acted on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base


class DeliveryRow(Base):
    """One provider call, written under its idempotency key before the call."""

    __tablename__ = "deliveries"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    enrollment_id: Mapped[str] = mapped_column(String(255))
    step: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    provider_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    at: Mapped[datetime]
    customer_id: Mapped[str | None] = mapped_column(String(64))
    result_at: Mapped[datetime | None]


Index(
    "ix_deliveries_customer_id_channel_at",
    DeliveryRow.customer_id,
    DeliveryRow.channel,
    DeliveryRow.at,
)


class CircuitRow(Base):
    """A channel not to be called until ``open_until`` (quota, empty SMS package)."""

    __tablename__ = "channel_circuits"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    open_until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]


class ConfigCircuitRow(Base):
    """A template of a channel (``template``), or a whole channel (``template == ""``),
    not to be sent to after a configuration error, until reset or redeployed
    (``engine.store.circuits``); a reopening reuses the row."""

    __tablename__ = "config_circuits"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    template: Mapped[str] = mapped_column(String(255), primary_key=True)
    error: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]
    digest: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(255))


class SubscribeBalanceRow(Base):
    """One-time subscribe-message consents a customer holds for one template."""

    __tablename__ = "subscribe_balances"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class SendSlotRow(Base):
    """One send counted against the frequency caps, under its delivery's key; the
    periods are the workspace's calendar day and month when it was reserved."""

    __tablename__ = "frequency_slots"
    __table_args__ = (
        Index("ix_frequency_slots_customer_id_purpose_month", "customer_id", "purpose", "month"),
    )

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))
    month: Mapped[str] = mapped_column(String(7))
    at: Mapped[datetime]


class CallbackReceiptRow(Base):
    """A platform callback already acted on (WeChat and Tencent retry them)."""

    __tablename__ = "callback_receipts"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime]
