"""The sign-in rate limit: after ``LIMIT`` failed attempts within ``PERIOD`` for one
username or from one client address, further attempts for that username or from that
address are refused (429) until the oldest of those failures is ``PERIOD`` old.

Kept in memory, per process (docs/decisions.md, "The console"): N API processes allow
N times the attempts, and a restart forgets them. A success clears the username's
failures, not the address's.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta

LIMIT = 5
PERIOD = timedelta(minutes=15)
#: Keys remembered at most; past it, keys whose failures all expired are dropped first.
MAX_KEYS = 100_000


class LoginThrottle:
    """Failed sign-ins per key (``user:<name>``, ``addr:<ip>``) within the period."""

    def __init__(
        self,
        limit: int = LIMIT,
        period: timedelta = PERIOD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.period = period.total_seconds()
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, address: str | None) -> list[str]:
        """The keys an attempt counts against."""
        keys = [f"user:{username}"]
        if address:
            keys.append(f"addr:{address}")
        return keys

    def retry_after(self, keys: list[str]) -> float | None:
        """Seconds until an attempt for ``keys`` is allowed again; None: allowed now."""
        now = self.clock()
        waits: list[float] = []
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                if len(recent) >= self.limit:
                    waits.append(recent[-self.limit] + self.period - now)
        return max(waits) if waits else None

    def failed(self, keys: list[str]) -> None:
        """Count a failed attempt against each key."""
        now = self.clock()
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                self._forget_expired(now)
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=self.limit)).append(now)

    def succeeded(self, username: str) -> None:
        """The username signed in: its failures no longer count."""
        with self._lock:
            self._failures.pop(f"user:{username}", None)

    def _recent(self, key: str, now: float) -> deque[float]:
        recent = self._failures.get(key, deque())
        while recent and recent[0] <= now - self.period:
            recent.popleft()
        return recent

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.period]:
            del self._failures[key]
        if len(self._failures) >= MAX_KEYS:  # a flood of live keys: start over
            self._failures.clear()
