"""Deployed segments, their members and the outbox of enters and exits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base


class SegmentRow(Base):
    """A deployed workspace segment; ``rule`` is the rule as JSON."""

    __tablename__ = "segments"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    rule: Mapped[dict[str, Any]]
    refresh: Mapped[str | None] = mapped_column(String(128))
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]


class SegmentMemberRow(Base):
    """A customer in a segment since ``entered_at``; ``exited_at`` is NULL while a member."""

    __tablename__ = "segment_members"

    segment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id"), primary_key=True, index=True
    )
    entered_at: Mapped[datetime]
    exited_at: Mapped[datetime | None]


class SegmentChangeRow(Base):
    """Outbox of enters and exits: written with the membership, marked once dispatched."""

    __tablename__ = "segment_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    segment_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    entered: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)
