"""Customers and what is known of them: identities, events, tags, consents,
merges and guardian links. Every row here belongs to a customer (``customers.id``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base
from engine.store.sql.types import JSONType


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    follows_wechat: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Not an identity (one staff member owns many contacts) but addressed like one.
    wecom_owner_userid: Mapped[str | None] = mapped_column(String(128))
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime]


class IdentityRow(Base):
    """One way a customer is known; (kind, namespace, value) names at most one customer."""

    __tablename__ = "identities"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(128), primary_key=True, default="")
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime]


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_customer_id_name_at", "customer_id", "name", "at"),
        # Compiled segment rules scanning a population by event name (migration 0006).
        Index("ix_events_name_customer_id_at", "name", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(255))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class TagRow(Base):
    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_tag_customer_id", "tag", "customer_id"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]


class TagHistoryRow(Base):
    __tablename__ = "tag_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    tag: Mapped[str] = mapped_column(String(255))
    added: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]
    # Empty until the tag_added triggers have been told of an added tag (migration 0010).
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)
    # The context of the request that added it, for a dispatch done later (migration 0011).
    context: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class ConsentRow(Base):
    """Append-only: the latest record per (purpose, channel) decides."""

    __tablename__ = "consents"
    __table_args__ = (
        Index("ix_consents_customer_id_at", "customer_id", "at"),
        Index(
            "ix_consents_customer_id_purpose_channel_at", "customer_id", "purpose", "channel", "at"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(255), default="api")
    text_version: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]


class MergeRow(Base):
    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    survivor_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class GuardianLinkRow(Base):
    """A minor linked to a guardian (both customers); kept when unlinked (history)."""

    __tablename__ = "guardian_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    guardian_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    relation: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime]
    unlinked_at: Mapped[datetime | None]
