"""Recent report answers, kept for a short time, so a report page opened again (the
next filter, the back button, a colleague with the same scope) does not ask the
database again.

A report reads every event of its range: on a chain's whole pool that is a second or
more, however it is written (``bench/README.md``). Marketing reports count by day, so
an answer a couple of minutes old serves as well as a new one, as long as the page
says how old it is and offers a fresh one: the page shows "as of" and a refresh
link, which asks again and replaces what was kept.

Kept per process, in memory, by (report, the scope as made for the user — so a staff
user's answer is never another's — and the report's own filters); at most ``SIZE``
answers, each for ``TTL``. Requests for the same key while it is being computed wait
for that one computation instead of starting their own. CSV exports are not served
from here: a download is computed when asked.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request

__all__ = ["SIZE", "TTL", "Kept", "ReportCache", "cache_of"]

#: How long an answer is served again.
TTL = timedelta(minutes=2)
#: Most answers kept (the least recently used go first).
SIZE = 128


@dataclass(frozen=True)
class Kept:
    """An answer and when it was computed."""

    value: Any
    at: datetime


class ReportCache:
    """Report answers by key, each kept for ``ttl``."""

    def __init__(
        self,
        ttl: timedelta = TTL,
        size: int = SIZE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._ttl, self._size, self._clock = ttl, size, clock
        self._kept: OrderedDict[str, Kept] = OrderedDict()
        self._running: dict[str, asyncio.Future[Kept]] = {}

    def peek(self, key: str) -> Kept | None:
        """The kept answer for ``key`` while it is recent; None when there is none (a
        page then asks for it on its own, ``answer``)."""
        kept = self._kept.get(key)
        if kept is None or self._clock() - kept.at >= self._ttl:
            return None
        self._kept.move_to_end(key)
        return kept

    async def answer(
        self, key: str, compute: Callable[[], Awaitable[Any]], *, fresh: bool = False
    ) -> Kept:
        """The kept answer for ``key`` while it is recent (unless ``fresh``), else the
        one ``compute`` gives now, which is then kept."""
        now = self._clock()
        kept = self._kept.get(key)
        if kept is not None and not fresh and now - kept.at < self._ttl:
            self._kept.move_to_end(key)
            return kept
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Kept] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            value = await compute()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody else must
            raise
        else:
            kept = Kept(value, now)
            self._kept[key] = kept
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
            future.set_result(kept)
            return kept
        finally:
            del self._running[key]


def cache_of(request: Request) -> ReportCache:
    """The app's kept report answers (made by ``api.console.mount``)."""
    cache: ReportCache = request.app.state.report_cache
    return cache
