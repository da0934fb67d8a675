"""Access tokens shared by every worker process through a ``TokenCache``.

Without a cache each worker process fetches and keeps its own token (wechatpy's
session). With one (the SQL store), the token is fetched by one process and read by
the others; a token the platform refused is replaced by ``refresh_token_once``, under
the cache's lock, so N workers refusing the same token make one platform call. Either
way a refused token is refreshed once per call and never in a loop (``calls.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

#: A token is given up this long before the platform says it expires (wechatpy's own
#: margin), so that a call made with it is not refused on the way.
EXPIRY_MARGIN = timedelta(seconds=60)
#: How long a process uses the token it read before reading the cache again. Shorter
#: than ``EXPIRY_MARGIN``, so a token is never used past its real expiry; a token
#: revoked meanwhile is refused once, and ``refresh`` finds its replacement.
REREAD_SECONDS = 30.0


class TokenCache(Protocol):
    """Where worker processes share access tokens (``SqlStore`` is one)."""

    def cached_token(self, name: str, now: datetime) -> str | None:
        """The stored token of ``name``, None if missing or expired."""
        ...

    def refresh_token_once(
        self,
        name: str,
        stale: str | None,
        fetch: Callable[[], tuple[str, datetime]],
        now: datetime,
    ) -> str:
        """Under a lock: a valid stored token other than ``stale``, else ``fetch()``'s
        token, stored."""
        ...


class SharedToken:
    """One account's token (``name``, e.g. ``wechat:{app_id}``) kept in a ``TokenCache``.

    ``fetch`` calls the platform and returns the token and its lifetime in seconds;
    its exceptions (a refused credential, a network error) reach the caller.
    """

    def __init__(self, cache: TokenCache, name: str, fetch: Callable[[], tuple[str, int]]) -> None:
        self.name = name
        self._cache = cache
        self._fetch = fetch
        self._lock = threading.Lock()
        self._token: str | None = None
        self._read_at = 0.0
        # The token each thread last used: the one to name as stale when the platform
        # refuses it (another thread may have replaced the process's copy meanwhile).
        self._used = threading.local()

    def get(self) -> str:
        """The current token: this process's copy while fresh, else the cache's, else a
        new one fetched once for every process."""
        with self._lock:
            token, read_at = self._token, self._read_at
        if token is None or time.monotonic() - read_at >= REREAD_SECONDS:
            now = datetime.now(UTC)
            token = self._cache.cached_token(self.name, now)
            if token is None:
                token = self._cache.refresh_token_once(self.name, None, self._expiring, now)
            self._keep(token)
        self._used.token = token
        return token

    def refresh(self) -> str:
        """A token other than the one this thread used, which the platform refused."""
        stale: str | None = getattr(self._used, "token", None)
        token = self._cache.refresh_token_once(self.name, stale, self._expiring, datetime.now(UTC))
        self._keep(token)
        self._used.token = token
        return token

    def _expiring(self) -> tuple[str, datetime]:
        token, lifetime = self._fetch()
        return token, datetime.now(UTC) + timedelta(seconds=lifetime) - EXPIRY_MARGIN

    def _keep(self, token: str) -> None:
        with self._lock:
            self._token, self._read_at = token, time.monotonic()
