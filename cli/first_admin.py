"""The console's first admin: created by ``carepath up`` once, while no user exists.

Its random password is written to ``var/console-admin.txt``, a file created owner-only
(0600) in one step, so it is never readable by others, not even for a moment. Later
starts create nothing; the banner only says where the file is while it is still there. Change
the password with ``carepath users password admin`` and delete the file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from engine.store.service_store import ServiceStore

__all__ = ["FIRST_ADMIN", "FIRST_ADMIN_FILE", "first_admin"]

#: The first admin's file under ``var/`` and username.
FIRST_ADMIN_FILE = "console-admin.txt"
FIRST_ADMIN = "admin"


def first_admin(store: ServiceStore, path: Path, console_url: str) -> str:
    """Create the user ``admin`` with a random password when the store has no user and
    write ``username`` and ``password`` lines to ``path`` (0600). Returns the banner's
    console line: where to sign in, and where the password is while the file exists."""
    label = f"console      {console_url}"
    if store.list_users():
        if path.exists():
            return f"{label}  (first admin's password in {path}: delete it once changed)"
        return label
    password = secrets.token_urlsafe(18)  # 24 characters, 144 random bits
    # A file left from an earlier database names a user that no longer exists.
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"username: {FIRST_ADMIN}\npassword: {password}\n")
    try:
        store.create_user(FIRST_ADMIN, password, "admin", by="carepath up")
    except BaseException:
        path.unlink(missing_ok=True)  # it would name a password no user has
        raise
    return (
        f"{label}  (user {FIRST_ADMIN} created now, password in {path}, owner-only; "
        f"change it: `carepath users password {FIRST_ADMIN}`)"
    )
