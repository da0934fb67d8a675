"""SQL functions the compiled rules need on SQLite, registered on each connection.

``carepath_instant(text)``: the text read as a point in time exactly like
:func:`rules.match.as_instant` (ISO date or date-time, naive means UTC; anything else,
including impossible dates such as 2024-02-30, is NULL), answered as naive UTC text in
the storage format of the store's times (``YYYY-MM-DD HH:MM:SS.ffffff``), so it compares
with them as text. PostgreSQL has the same function in SQL (migration 0006).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from rules.match import as_instant

__all__ = ["carepath_instant", "register_functions"]


def carepath_instant(value: Any) -> str | None:
    """ISO date/time text as naive UTC text, or None when it is not one."""
    if not isinstance(value, str):
        return None
    instant = as_instant(value)
    if instant is None:
        return None
    try:
        utc = instant.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset
        return None
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}"
    )


def register_functions(dbapi_connection: Any) -> None:
    """Register the rule functions on a sqlite3 connection (from a ``connect`` event)."""
    dbapi_connection.create_function("carepath_instant", 1, carepath_instant, deterministic=True)
