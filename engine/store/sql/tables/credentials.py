"""Secrets the store keeps: API keys (their hash only) and the platforms' access tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base
from engine.store.sql.types import JSONType


class ApiKeyRow(Base):
    """An API key; only the sha256 of its secret is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("secret_hash"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    clinics: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AccessTokenRow(Base):
    """A platform account's access token, shared by every worker process."""

    __tablename__ = "access_tokens"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]
