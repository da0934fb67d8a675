"""Access tokens shared between worker processes: read freely, refreshed under a lock.

A platform token (WeChat Official Account, WeCom) is valid for every holder, and some
platforms invalidate the previous one when a new one is fetched. So one process
fetches it and stores it here; the others read it. A token the platform refused is
replaced under the row's lock: the first worker to get there fetches, the workers
waiting behind it find the new token and use it, so N workers refusing the same token
make one platform call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from engine.store.sql.common import SqlPart
from engine.store.sql.tables import AccessTokenRow


class TokensPart(SqlPart):
    def cached_token(self, name: str, now: datetime) -> str | None:
        """The stored token of ``name`` (e.g. ``wechat:{app_id}``), None if missing or expired."""
        with self._db.read() as s, s.begin():
            row = s.get(AccessTokenRow, name)
            return _valid(row, now)

    def refresh_token_once(
        self,
        name: str,
        stale: str | None,
        fetch: Callable[[], tuple[str, datetime]],
        now: datetime,
    ) -> str:
        """The token of ``name`` after ``stale`` was refused (or None: none was held).

        Under the row's lock (FOR UPDATE on PostgreSQL; on SQLite the write lock every
        write transaction takes): a valid stored token other than ``stale`` was fetched
        by another process meanwhile and is returned as it is; otherwise ``fetch()``
        (the platform call: the token and when to stop using it) is called once and its
        token stored. An exception from ``fetch`` rolls back: nothing is stored.
        """
        # One transaction and no retry: redoing it could call the platform twice.
        with self._db.write() as s, s.begin():
            # Create the row first so there is always a row to lock: two processes
            # refreshing a token nobody stored yet queue on it like on any other.
            self._db.insert_ignore(s, AccessTokenRow, [{"name": name}])
            row = s.get(AccessTokenRow, name, with_for_update=True)
            assert row is not None  # inserted above, and tokens are never deleted
            current = _valid(row, now)
            if current is not None and current != stale:
                return current
            token, expires_at = fetch()
            row.token, row.expires_at, row.refreshed_at = token, expires_at, now
            return token


def _valid(row: AccessTokenRow | None, now: datetime) -> str | None:
    if row is None or not row.token or row.expires_at is None or row.expires_at <= now:
        return None
    return row.token
