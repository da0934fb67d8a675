"""The outbox's bookkeeping: dispatches that failed (retried with backoff, then
parked), signals accepted for an enrollment but not yet delivered, and triggers that a
paused journey let pass.

The outboxes themselves are the ``dispatched_at`` columns of ``events``,
``tag_history`` and ``segment_changes`` (and of ``pending_signals`` here). A row of
``outbox_failures`` exists only once an item's dispatch failed, so the ingest path
writes nothing here while all goes well.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base


class OutboxFailureRow(Base):
    """An item whose dispatch failed: (kind, item id) names its row in its outbox."""

    __tablename__ = "outbox_failures"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    first_failed_at: Mapped[datetime]
    last_attempt_at: Mapped[datetime]
    # None once parked or discarded: the sweep passes the item over until then.
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    parked_at: Mapped[datetime | None]
    discarded_at: Mapped[datetime | None]
    discarded_by: Mapped[str | None] = mapped_column(String(255))


class PendingSignalRow(Base):
    """A signal accepted for an enrollment (a handoff outcome, a cancel), kept until
    Temporal took it; ``key`` makes a repeated request store it once."""

    __tablename__ = "pending_signals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    enrollment_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class TriggerSkipRow(Base):
    """A trigger that matched a paused journey: recorded once per (item, journey)."""

    __tablename__ = "trigger_skips"
    __table_args__ = (Index("ix_trigger_skips_customer_id_at", "customer_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    journey_id: Mapped[str] = mapped_column(String(128))
    trigger: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
