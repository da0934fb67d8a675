"""Kept report answers: served again while recent, computed again when old or asked
fresh, one computation for concurrent asks, failures not kept, the oldest dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from api.console.report_cache import ReportCache

T0 = datetime(2027, 2, 9, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Counted:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        await asyncio.sleep(0)
        return self.calls


async def test_a_recent_answer_is_served_again_until_it_is_old() -> None:
    clock, compute = Clock(), Counted()
    cache = ReportCache(ttl=timedelta(minutes=2), clock=clock)
    first = await cache.answer("k", compute)
    clock.now = T0 + timedelta(seconds=119)
    again = await cache.answer("k", compute)
    assert (first.value, again.value, again.at, compute.calls) == (1, 1, T0, 1)
    clock.now = T0 + timedelta(minutes=2)
    later = await cache.answer("k", compute)
    assert (later.value, later.at) == (2, clock.now)
    assert (await cache.answer("other", compute)).value == 3  # keys are apart


async def test_fresh_computes_again_and_replaces_what_was_kept() -> None:
    clock, compute = Clock(), Counted()
    cache = ReportCache(clock=clock)
    await cache.answer("k", compute)
    assert (await cache.answer("k", compute, fresh=True)).value == 2
    assert (await cache.answer("k", compute)).value == 2


async def test_concurrent_asks_share_one_computation() -> None:
    gate, calls = asyncio.Event(), []

    async def slow() -> str:
        calls.append(1)
        await gate.wait()
        return "answer"

    cache = ReportCache()
    waiting = [asyncio.create_task(cache.answer("k", slow)) for _ in range(5)]
    await asyncio.sleep(0.01)
    gate.set()
    assert [(await w).value for w in waiting] == ["answer"] * 5
    assert len(calls) == 1


async def test_a_failure_reaches_every_waiter_and_is_not_kept() -> None:
    gate = asyncio.Event()

    async def failing() -> int:
        await gate.wait()
        raise ValueError("bad window")

    cache = ReportCache()
    waiting = [asyncio.create_task(cache.answer("k", failing)) for _ in range(3)]
    await asyncio.sleep(0.01)
    gate.set()
    for w in waiting:
        with pytest.raises(ValueError, match="bad window"):
            await w
    compute = Counted()
    assert (await cache.answer("k", compute)).value == 1


async def test_the_least_recently_used_answer_goes_first() -> None:
    compute = Counted()
    cache = ReportCache(size=2)
    await cache.answer("a", compute)
    await cache.answer("b", compute)
    await cache.answer("a", compute)  # a is used again: b is now the oldest
    await cache.answer("c", compute)
    assert (await cache.answer("a", compute)).value == 1
    assert (await cache.answer("b", compute)).value == 4  # b was dropped


async def test_peek_gives_only_a_recent_answer_and_never_computes() -> None:
    clock, compute = Clock(), Counted()
    cache = ReportCache(ttl=timedelta(minutes=2), clock=clock)
    assert cache.peek("k") is None
    await cache.answer("k", compute)
    clock.now = T0 + timedelta(seconds=119)
    kept = cache.peek("k")
    assert kept is not None and (kept.value, kept.at) == (1, T0)
    clock.now = T0 + timedelta(minutes=2)
    assert cache.peek("k") is None
    assert compute.calls == 1
