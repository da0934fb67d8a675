"""Console users and their signed-in sessions.

A user row keeps the Argon2id hash of the password, never the password; a session row
keeps the sha256 of the cookie's token, never the token. ``created_by`` and
``updated_by`` say who made the last changes ("cli", "console:<username>", ...).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base
from engine.store.sql.types import JSONType


class UserRow(Base):
    """A console user; ``disabled_at`` set: refused from then on."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    clinics: Mapped[list[str]] = mapped_column(JSONType)
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(255))
    updated_by: Mapped[str | None] = mapped_column(String(255))


class ConsoleSessionRow(Base):
    """A signed-in session: found by the sha256 of the cookie's token until it expires."""

    __tablename__ = "console_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
