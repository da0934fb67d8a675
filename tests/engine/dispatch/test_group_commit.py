"""Group commit: requests that arrive during a write share the next one, and a failure
stays with the request that caused it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from engine.dispatch.group_commit import GroupCommit


class Writes:
    """A blocking write (it runs in a thread) that records the groups of each call;
    the first call waits for ``release`` so that others can queue behind it."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, groups: Sequence[str]) -> list[str]:
        self.calls.append(list(groups))
        if len(self.calls) == 1:
            self.started.set()
            assert self.release.wait(10)
        if "bad" in groups:
            raise ValueError(f"bad group among {list(groups)}")
        return [g.upper() for g in groups]


async def until(condition: threading.Event) -> None:
    await asyncio.to_thread(condition.wait, 10)


async def test_requests_arriving_during_a_write_share_the_next_one() -> None:
    writes = Writes()
    commit: GroupCommit[str, str] = GroupCommit(writes)
    first = asyncio.create_task(commit.submit("a"))
    await until(writes.started)  # "a" is being written alone, at once
    later = [asyncio.create_task(commit.submit(g)) for g in ("b", "c", "d", "e")]
    await asyncio.sleep(0)  # all four are waiting now
    writes.release.set()
    assert await first == "A"
    assert await asyncio.gather(*later) == ["B", "C", "D", "E"]
    assert writes.calls == [["a"], ["b", "c", "d", "e"]]
    assert (commit.writes, commit.groups) == (2, 5)


async def test_a_lone_request_is_written_without_waiting_for_company() -> None:
    writes = Writes()
    writes.release.set()
    commit: GroupCommit[str, str] = GroupCommit(writes)
    assert await commit.submit("x") == "X"
    assert await commit.submit("y") == "Y"
    assert writes.calls == [["x"], ["y"]]


async def test_a_failed_write_is_redone_request_by_request() -> None:
    writes = Writes()
    commit: GroupCommit[str, str] = GroupCommit(writes)
    first = asyncio.create_task(commit.submit("a"))
    await until(writes.started)
    later = [asyncio.create_task(commit.submit(g)) for g in ("b", "bad", "c")]
    await asyncio.sleep(0)
    writes.release.set()
    assert await first == "A"
    assert await later[0] == "B" and await later[2] == "C"
    with pytest.raises(ValueError, match="bad group among \\['bad'\\]"):
        await later[1]
    # Together once (failed), then each alone: the failure is the bad request's only.
    assert writes.calls == [["a"], ["b", "bad", "c"], ["b"], ["bad"], ["c"]]


async def test_a_request_that_went_away_does_not_stop_the_others() -> None:
    writes = Writes()
    commit: GroupCommit[str, str] = GroupCommit(writes)
    first = asyncio.create_task(commit.submit("a"))
    await until(writes.started)
    gone = asyncio.create_task(commit.submit("gone"))
    kept = asyncio.create_task(commit.submit("kept"))
    await asyncio.sleep(0)
    gone.cancel()
    writes.release.set()
    assert await first == "A"
    assert await kept == "KEPT"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert writes.calls == [["a"], ["kept"]]  # a request gone before its write is left out


async def test_no_more_than_max_groups_are_written_together() -> None:
    writes = Writes()
    commit: GroupCommit[str, str] = GroupCommit(writes, max_groups=2)
    first = asyncio.create_task(commit.submit("a"))
    await until(writes.started)
    later = [asyncio.create_task(commit.submit(g)) for g in ("b", "c", "d", "e", "f")]
    await asyncio.sleep(0)
    writes.release.set()
    await first
    assert await asyncio.gather(*later) == ["B", "C", "D", "E", "F"]
    assert writes.calls == [["a"], ["b", "c"], ["d", "e"], ["f"]]


async def test_a_failure_of_the_database_fails_the_write_together_without_redoing_it() -> None:
    writes = Writes()

    def locked(groups: Sequence[str]) -> list[str]:
        writes.calls.append(list(groups))
        if len(writes.calls) == 1:
            writes.started.set()
            assert writes.release.wait(10)
            return ["A"]
        raise OSError("database is locked")

    commit: GroupCommit[str, str] = GroupCommit(locked, shared=lambda exc: "database" in str(exc))
    first = asyncio.create_task(commit.submit("a"))
    await until(writes.started)
    later = [asyncio.create_task(commit.submit(g)) for g in ("b", "c")]
    await asyncio.sleep(0)
    writes.release.set()
    assert await first == "A"
    for task in later:
        with pytest.raises(OSError, match="database is locked"):
            await task
    assert writes.calls == [["a"], ["b", "c"]]  # not redone one by one
