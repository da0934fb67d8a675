"""Console users and sessions: passwords kept as Argon2id hashes, sessions on the server.

A session is a row found by the sha256 of the cookie's random token (32 bytes, so a
plain hash cannot be reversed and one lookup finds it); closing, expiring, disabling
the user or changing their password ends it. Passwords are hashed before a write
transaction opens: a hash takes tens of milliseconds, and SQLite has one writer.

Who changed a user is kept on its row: ``created_by``, and ``updated_by`` with
``updated_at`` for the last change (disabled, password set); ``by`` names the actor
("cli", "console:<username>"). Each change is also a line of the change log, written
in the same transaction (never the password or its hash). A disabled user stays
disabled: their password can no longer be set, so the row keeps who disabled them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.errors import Conflict, NotFound
from engine.models.changes import NewChange
from engine.models.users import (
    ConsoleSession,
    Role,
    User,
    check_new_user,
    check_password_rules,
    normalise_username,
)
from engine.store.passwords import hash_password, needs_rehash, verify_dummy, verify_password
from engine.store.sql.changes import append_change
from engine.store.sql.common import SqlPart
from engine.store.sql.tables import ConsoleSessionRow, UserRow


def token_sha256(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,  # validated: written from a Role only
        clinics=list(row.clinics),
        disabled=row.disabled_at is not None,
        created_at=row.created_at,
    )


def _row(s: Session, username: str) -> UserRow:
    name = normalise_username(username)
    row = s.scalars(select(UserRow).where(UserRow.username == name)).first()
    if row is None:
        raise NotFound(f"no console user {name!r}")
    return row


def _log(s: Session, row: UserRow, action: str, by: str | None, at: datetime) -> None:
    detail: dict[str, object] = {"username": row.username}
    if action == "user.created":
        detail |= {"role": row.role, "clinics": list(row.clinics)}
    append_change(
        s,
        NewChange(
            at=at,
            actor=by or "unknown",
            action=action,
            subject_kind="user",
            subject_id=row.id,
            detail=detail,
        ),
    )


def _end_sessions(s: Session, user_id: str) -> None:
    s.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.user_id == user_id))


class UsersPart(SqlPart):
    def create_user(
        self,
        username: str,
        password: str,
        role: Role,
        clinics: list[str] | None = None,
        display_name: str | None = None,
        *,
        by: str | None = None,
        at: datetime | None = None,
    ) -> User:
        """A new console user. AccountRefused when a field breaks the rules (see
        ``engine.models.users.check_new_user``); Conflict when the username is taken."""
        name = normalise_username(username)
        wanted = list(dict.fromkeys(c.strip() for c in clinics or []))
        check_new_user(name, role, wanted, password)
        now = at or datetime.now(UTC)
        row = UserRow(
            id=f"u-{secrets.token_hex(6)}",
            username=name,
            display_name=(display_name or "").strip() or name,
            role=role,
            clinics=wanted,
            password_hash=hash_password(password),
            disabled_at=None,
            created_at=now,
            updated_at=now,
            created_by=by,
            updated_by=by,
        )
        try:
            with self._db.write() as s, s.begin():
                s.add(row)
                s.flush()
                _log(s, row, "user.created", by, now)
                return _user(row)
        except IntegrityError:
            raise Conflict(f"a console user named {name!r} exists already") from None

    def list_users(self) -> list[User]:
        """Every console user, disabled ones too, by username."""
        with self._db.read() as s, s.begin():
            return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.username))]

    def get_user(self, username: str) -> User:
        """The user with this username (any case); NotFound when there is none."""
        with self._db.read() as s, s.begin():
            return _user(_row(s, username))

    def disable_user(
        self, username: str, *, by: str | None = None, at: datetime | None = None
    ) -> User:
        """Disable the user and end their sessions; disabling again changes nothing."""
        with self._db.write() as s, s.begin():
            row = _row(s, username)
            if row.disabled_at is None:
                row.disabled_at = row.updated_at = at or datetime.now(UTC)
                row.updated_by = by
                _log(s, row, "user.disabled", by, row.updated_at)
            _end_sessions(s, row.id)
            return _user(row)

    def set_password(
        self,
        username: str,
        password: str,
        *,
        by: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Replace the user's password and end their sessions. AccountRefused for a
        password too short, NotFound for an unknown user, Conflict for a disabled one."""
        check_password_rules(password)
        new_hash = hash_password(password)
        with self._db.write() as s, s.begin():
            row = _row(s, username)
            if row.disabled_at is not None:
                raise Conflict(f"console user {row.username!r} is disabled")
            row.password_hash = new_hash
            row.updated_at = at or datetime.now(UTC)
            row.updated_by = by
            _log(s, row, "user.password", by, row.updated_at)
            _end_sessions(s, row.id)

    def check_password(self, username: str, password: str) -> User | None:
        """The user, when the password is theirs and they are not disabled; else None.

        An unknown username is verified against a dummy hash, so it takes as long as a
        wrong password. A hash made with older Argon2 parameters is replaced now.
        """
        with self._db.read() as s, s.begin():
            row = s.scalars(
                select(UserRow).where(UserRow.username == normalise_username(username))
            ).first()
            found = None if row is None else (_user(row), row.password_hash)
        if found is None:
            verify_dummy(password)
            return None
        user, stored = found
        if not verify_password(stored, password) or user.disabled:
            return None
        if needs_rehash(stored):
            fresh = hash_password(password)
            with self._db.write() as s, s.begin():
                # Conditional: a password set meanwhile is not overwritten.
                s.execute(
                    update(UserRow)
                    .where(UserRow.id == user.id, UserRow.password_hash == stored)
                    .values(password_hash=fresh)
                )
        return user

    def open_session(
        self, user_id: str, ttl: timedelta, *, at: datetime | None = None
    ) -> tuple[str, ConsoleSession]:
        """A new session for the user: (the token for the cookie, the session). Only
        the token's sha256 is stored. NotFound for an unknown user, Conflict for a
        disabled one. The user's expired sessions are removed on the way."""
        now = at or datetime.now(UTC)
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self._db.write() as s, s.begin():
            row = s.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no console user with id {user_id!r}")
            if row.disabled_at is not None:
                raise Conflict(f"console user {row.username!r} is disabled")
            s.execute(
                delete(ConsoleSessionRow).where(
                    ConsoleSessionRow.user_id == user_id, ConsoleSessionRow.expires_at <= now
                )
            )
            s.add(
                ConsoleSessionRow(
                    token_sha256=token_sha256(token),
                    user_id=user_id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
            return token, ConsoleSession(user=_user(row), csrf_token=csrf, expires_at=now + ttl)

    def find_session(self, token: str, *, at: datetime | None = None) -> ConsoleSession | None:
        """The session this cookie token opened; None when unknown, expired, or its
        user is disabled."""
        now = at or datetime.now(UTC)
        with self._db.read() as s, s.begin():
            found = s.execute(
                select(ConsoleSessionRow, UserRow)
                .join(UserRow, UserRow.id == ConsoleSessionRow.user_id)
                .where(ConsoleSessionRow.token_sha256 == token_sha256(token))
            ).first()
            if found is None:
                return None
            session, user = found
            if session.expires_at <= now or user.disabled_at is not None:
                return None
            return ConsoleSession(
                user=_user(user), csrf_token=session.csrf_token, expires_at=session.expires_at
            )

    def close_session(self, token: str) -> None:
        """End the session (signing out); an unknown token changes nothing."""
        with self._db.write() as s, s.begin():
            s.execute(
                delete(ConsoleSessionRow).where(
                    ConsoleSessionRow.token_sha256 == token_sha256(token)
                )
            )
