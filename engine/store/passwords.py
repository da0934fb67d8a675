"""Console passwords, hashed with Argon2id (argon2-cffi's ``PasswordHasher`` defaults).

The hash string carries its own salt and parameters, so hashes made with older
parameters still verify; ``needs_rehash`` says when one should be replaced (the store
does so at the next successful sign-in). ``verify_dummy`` spends the time of a real
verification, so an unknown username answers as slowly as a wrong password.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["hash_password", "needs_rehash", "verify_dummy", "verify_password"]

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password`` (salted; about 50 ms)."""
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (False for a malformed hash too)."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with other parameters than the current ones."""
    return _HASHER.check_needs_rehash(stored_hash)


@cache
def _dummy_hash() -> str:
    # A random password nobody knows: made once per process, with current parameters.
    return _HASHER.hash(secrets.token_urlsafe(16))


def verify_dummy(password: str) -> None:
    """Verify ``password`` against a hash no password matches, for its timing only."""
    verify_password(_dummy_hash(), password)
