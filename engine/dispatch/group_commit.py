"""Group commit: requests that arrive while a write is under way share the next write.

``/v1/track`` requests come many at a time (20 in flight from one CRM is ordinary), and
each one's write is mostly the price of a transaction: a thread hop, a session, BEGIN,
COMMIT, and on SQLite a turn at the single write lock. ``GroupCommit`` writes the
first request at once, and every request that arrives meanwhile waits for that write
to finish and then goes into one write together with the others that waited. No timer
is involved: a lone request is written as soon as it comes, and the groups grow only
when the requests come faster than the writes.

A write of several requests is all or nothing; when it fails, each of its requests is
written again alone, so one request's failure is never another's (unless the failure
is the database's own, which would only repeat).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

G = TypeVar("G")
R = TypeVar("R")

#: Requests written together at most; more wait for the next write.
MAX_GROUPS = 64


class GroupCommit(Generic[G, R]):
    """``await submit(group)`` gives ``write([..., group, ...])``'s result for it.

    ``write`` is blocking (it runs in a thread) and returns one result per group, in
    order. ``shared(exc)`` says that a failure is everybody's (the database could not be
    reached, or stayed locked): the requests of that write all fail with it, instead of
    each waiting for the same failure alone.
    """

    def __init__(
        self,
        write: Callable[[Sequence[G]], list[R]],
        *,
        max_groups: int = MAX_GROUPS,
        shared: Callable[[Exception], bool] = lambda _: False,
    ) -> None:
        self._write = write
        self._max = max_groups
        self._shared = shared
        self._waiting: list[tuple[G, asyncio.Future[R]]] = []
        self._drain: asyncio.Task[None] | None = None
        #: Writes made and groups written, for benchmarks and tests.
        self.writes = 0
        self.groups = 0

    async def submit(self, group: G) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        drain = self._drain
        if drain is not None and drain.get_loop() is not loop:
            # An event loop that ended (tests run one per test): what waited there is gone.
            self._waiting = [w for w in self._waiting if w[1].get_loop() is loop]
            drain = None
        self._waiting.append((group, future))
        if drain is None or drain.done():
            self._drain = loop.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            taken = [w for w in self._waiting[: self._max] if not w[1].done()]
            del self._waiting[: self._max]
            if taken:
                await self._write_together(taken)

    async def _write_together(self, taken: list[tuple[G, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write_now([g for g, _ in taken])
        except Exception as exc:
            if len(taken) == 1 or self._shared(exc):
                for _, future in taken:  # the database's failure, not one request's
                    _fail(future, exc)
                return
            for group, future in taken:  # each alone: the failure is one of theirs
                try:
                    (result,) = await self._write_now([group])
                except Exception as alone:
                    _fail(future, alone)
                else:
                    _succeed(future, result)
            return
        for (_, future), result in zip(taken, results, strict=True):
            _succeed(future, result)

    async def _write_now(self, groups: list[G]) -> list[R]:
        self.writes += 1
        self.groups += len(groups)
        return await asyncio.to_thread(self._write, groups)


# A future whose request went away (its client disconnected) is done already.


def _succeed(future: asyncio.Future[R], result: R) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[R], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
