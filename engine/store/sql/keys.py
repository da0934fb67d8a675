"""API keys: the secret is shown once and kept only as its sha256."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select

from engine.store.records import ApiKeyRecord, Scope
from engine.store.sql.common import SqlPart
from engine.store.sql.tables import ApiKeyRow


def secret_hash(secret: str) -> str:
    # Secrets carry 192 random bits: a plain sha256 cannot be brute-forced back, and
    # unlike a salted slow hash it lets the key be found by its hash in one lookup.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeysPart(SqlPart):
    def create_api_key(
        self, name: str, scopes: list[Scope], clinics: list[str], *, at: datetime
    ) -> tuple[ApiKeyRecord, str]:
        """A new key and its secret (``cp_`` + 32 url-safe characters), shown only now."""
        secret = "cp_" + secrets.token_urlsafe(24)
        record = ApiKeyRecord(
            id=f"k-{secrets.token_hex(6)}",
            name=name,
            scopes=list(scopes),
            clinics=list(clinics),
            created_at=at,
        )
        with self._db.write() as s, s.begin():
            s.add(ApiKeyRow(**record.model_dump(), secret_hash=secret_hash(secret)))
        return record, secret

    def find_api_key(self, secret: str) -> ApiKeyRecord | None:
        """The key whose secret this is, or None."""
        with self._db.read() as s, s.begin():
            row = s.scalars(
                select(ApiKeyRow).where(ApiKeyRow.secret_hash == secret_hash(secret))
            ).first()
            return None if row is None else ApiKeyRecord.model_validate(row, from_attributes=True)
