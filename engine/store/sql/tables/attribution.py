"""Where customers came from: QR and contact-me codes, and the touches they bring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base
from engine.store.sql.types import JSONType


class QrCodeRow(Base):
    """A parameterized WeChat QR code or a WeCom contact-me code, with what it attributes:
    a scan's scene (WeChat ``scene_str``) or a contact's ``state`` maps back to it."""

    __tablename__ = "qr_codes"
    __table_args__ = (Index("ix_qr_codes_kind_scene", "kind", "scene"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str | None] = mapped_column(String(255))
    scene: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    activity: Mapped[str | None] = mapped_column(String(128))
    clinic: Mapped[str | None] = mapped_column(String(128))
    doctor: Mapped[str | None] = mapped_column(String(128))
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None]
    ticket: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    config_id: Mapped[str | None] = mapped_column(String(64))
    staff: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime]


class TouchRow(Base):
    """One attributable touch of a customer (a QR scan, a follow, a contact added, a page
    visit with UTM fields); ``first`` marks the one that became the customer's first touch.
    ``message_id`` is the event's that brought it, so a retried event adds none."""

    __tablename__ = "touches"
    __table_args__ = (
        Index("ix_touches_customer_id_at", "customer_id", "at"),
        Index("ix_touches_first_channel", "first", "channel"),
        # The reports' first touches of a range, and who has one (migration 0015).
        Index("ix_touches_first_at_customer_id", "first", "at", "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(64))
    activity: Mapped[str | None] = mapped_column(String(128))
    clinic: Mapped[str | None] = mapped_column(String(128))
    doctor: Mapped[str | None] = mapped_column(String(128))
    scene: Mapped[str | None] = mapped_column(String(64))
    code_id: Mapped[str | None] = mapped_column(String(32), index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime]
