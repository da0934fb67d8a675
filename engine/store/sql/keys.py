"""API keys: the secret is shown once and kept only as its sha256.

A key may expire and may be revoked; either way ``find_api_key`` stops finding it.
When a key was last used is written at most once a minute per key (``LAST_USED_EVERY``):
a busy integration's every request must not be a write.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update

from engine.errors import Conflict, NotFound
from engine.store.records import ApiKeyRecord, Scope
from engine.store.sql.common import SqlPart
from engine.store.sql.tables import ApiKeyRow

#: How stale ``last_used_at`` may be before a lookup writes it again.
LAST_USED_EVERY = timedelta(minutes=1)


def secret_hash(secret: str) -> str:
    # Secrets carry 192 random bits: a plain sha256 cannot be brute-forced back, and
    # unlike a salted slow hash it lets the key be found by its hash in one lookup.
    return hashlib.sha256(secret.encode()).hexdigest()


def _record(row: ApiKeyRow) -> ApiKeyRecord:
    return ApiKeyRecord.model_validate(row, from_attributes=True)


class ApiKeysPart(SqlPart):
    def create_api_key(
        self,
        name: str,
        scopes: list[Scope],
        clinics: list[str],
        *,
        at: datetime,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKeyRecord, str]:
        """A new key and its secret (``cp_`` + 32 url-safe characters), shown only now."""
        secret = "cp_" + secrets.token_urlsafe(24)
        record = ApiKeyRecord(
            id=f"k-{secrets.token_hex(6)}",
            name=name,
            scopes=list(scopes),
            clinics=list(clinics),
            created_at=at,
            expires_at=expires_at,
        )
        with self._db.write() as s, s.begin():
            s.add(ApiKeyRow(**record.model_dump(), secret_hash=secret_hash(secret)))
        return record, secret

    def find_api_key(self, secret: str, *, at: datetime | None = None) -> ApiKeyRecord | None:
        """The usable key whose secret this is (None when unknown, expired or revoked);
        records that it was used, at most once a minute."""
        now = at or datetime.now(UTC)
        with self._db.read() as s, s.begin():
            row = s.scalars(
                select(ApiKeyRow).where(ApiKeyRow.secret_hash == secret_hash(secret))
            ).first()
            key = None if row is None else _record(row)
        if key is None or not key.usable(now):
            return None
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
            # Conditional, so processes that read the same stale time write it once.
            stale = now - LAST_USED_EVERY
            with self._db.write() as s, s.begin():
                s.execute(
                    update(ApiKeyRow)
                    .where(ApiKeyRow.id == key.id)
                    .where(or_(ApiKeyRow.last_used_at.is_(None), ApiKeyRow.last_used_at <= stale))
                    .values(last_used_at=now)
                )
            key = key.model_copy(update={"last_used_at": now})
        return key

    def list_api_keys(self) -> list[ApiKeyRecord]:
        """Every key, revoked and expired ones too, oldest first."""
        with self._db.read() as s, s.begin():
            rows = s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id))
            return [_record(row) for row in rows]

    def revoke_api_key(self, name_or_id: str, *, at: datetime) -> ApiKeyRecord:
        """Revoke the key with this id, else the one unrevoked key with this name.

        Raises NotFound when there is none, Conflict when several keys share the name
        (revoke by id then). Revoking a revoked key keeps its first revocation time.
        """
        with self._db.write() as s, s.begin():
            row = s.get(ApiKeyRow, name_or_id)
            if row is None:
                named = list(
                    s.scalars(
                        select(ApiKeyRow)
                        .where(ApiKeyRow.name == name_or_id, ApiKeyRow.revoked_at.is_(None))
                        .order_by(ApiKeyRow.created_at, ApiKeyRow.id)
                    )
                )
                if not named:
                    raise NotFound(f"no unrevoked API key with id or name {name_or_id!r}")
                if len(named) > 1:
                    ids = ", ".join(r.id for r in named)
                    raise Conflict(
                        f"{len(named)} keys are named {name_or_id!r} ({ids}): revoke one by id"
                    )
                row = named[0]
            if row.revoked_at is None:
                row.revoked_at = at
            return _record(row)
