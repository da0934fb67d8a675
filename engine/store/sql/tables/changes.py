"""The change log (``engine.models.changes``): appended to, never updated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base


class ChangeRow(Base):
    """Who changed what, when; read newest first by subject, customer or action."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]

    __table_args__ = (
        Index("ix_changes_subject", "subject_kind", "subject_id", "id"),
        Index("ix_changes_customer", "customer_id", "id"),
        Index("ix_changes_action", "action", "id"),
    )
