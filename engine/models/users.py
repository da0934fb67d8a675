"""Console accounts: who may sign in to the console, with which role, for which clinics.

Three roles. ``admin`` sees every clinic and manages users, deploys the workspace and
exports segment members. ``operator`` sees every clinic but may do none of those three.
``staff`` sees only the clinics listed on the account, held to the same check as a
staff API key (``engine.store.access.principal_of``).

A user is never deleted: disabling one ends their sessions and refuses their password
from then on, and the row keeps who created and last changed it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from engine.errors import AccountRefused

__all__ = [
    "MIN_PASSWORD",
    "ROLES",
    "USERNAME",
    "ConsoleSession",
    "Role",
    "User",
    "check_account",
    "check_new_user",
    "check_password_rules",
    "normalise_username",
]

Role = Literal["admin", "operator", "staff"]
ROLES: tuple[Role, ...] = ("admin", "operator", "staff")

#: Shortest password accepted (characters).
MIN_PASSWORD = 10
#: What a username may be: letters, digits and ``. _ @ -``, up to 64 characters. Stored
#: and looked up in lower case, so ``Admin`` and ``admin`` are one user.
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


class User(BaseModel):
    """A console user as the store hands it out (never the password hash)."""

    id: str = Field(description="the user's id, u-<hex>")
    username: str = Field(description="what the user signs in with (lower case)")
    display_name: str = Field(description="the name the console shows")
    role: Role = Field(description="admin, operator or staff")
    clinics: list[str] = Field(
        default_factory=list, description="staff: the clinics they work for; others: []"
    )
    disabled: bool = Field(False, description="disabled users cannot sign in")
    created_at: datetime = Field(description="when the user was created")


class ConsoleSession(BaseModel):
    """A signed-in console session, found by the cookie's token (kept only as its hash)."""

    user: User = Field(description="who is signed in")
    csrf_token: str = Field(description="required on every form the console posts")
    expires_at: datetime = Field(description="the session ends at this time")


def normalise_username(username: str) -> str:
    """The stored form of a username: trimmed, lower case."""
    return username.strip().lower()


def check_password_rules(password: str) -> None:
    """AccountRefused when the password is too short."""
    if len(password) < MIN_PASSWORD:
        raise AccountRefused(
            f"the password has {len(password)} characters: use at least {MIN_PASSWORD}"
        )


def check_account(username: str, role: str, clinics: list[str]) -> None:
    """AccountRefused when a user with this (normalised) username, role and clinics may
    not exist; the message says which field to change."""
    if not USERNAME.fullmatch(username):
        raise AccountRefused(
            f"username {username!r}: use 1 to 64 letters, digits or . _ @ -, "
            "starting with a letter or digit"
        )
    if role not in ROLES:
        raise AccountRefused(f"role {role!r}: use one of {', '.join(ROLES)}")
    if role == "staff" and not clinics:
        raise AccountRefused(
            f"staff user {username!r} needs at least one clinic (the clinics they work for)"
        )
    if role != "staff" and clinics:
        raise AccountRefused(
            f"{role} user {username!r} sees every clinic: give clinics to staff users only"
        )
    if any(not c.strip() for c in clinics):
        raise AccountRefused(f"user {username!r}: a clinic id must not be empty")


def check_new_user(username: str, role: str, clinics: list[str], password: str) -> None:
    """AccountRefused when this user may not be created (``check_account``, then the
    password's rules)."""
    check_account(username, role, clinics)
    check_password_rules(password)
