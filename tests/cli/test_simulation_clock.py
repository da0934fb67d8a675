"""The simulation's clock skips: a skip the test server timed out on is asked again from
where the clock stands; other errors, and a skip that keeps timing out, are raised."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from temporalio.service import RPCError, RPCStatusCode

from cli.simulation import _Run

START = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass
class Clock:
    """A test server whose first ``failures`` skips move the clock half way, then fail."""

    failures: int
    message: str = "Timeout expired"
    at: datetime = START
    asked: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        if len(self.asked) <= self.failures:
            self.at += timedelta(seconds=seconds / 2)
            raise RPCError(self.message, RPCStatusCode.UNKNOWN, b"")
        self.at += timedelta(seconds=seconds)


@dataclass
class Run:
    env: Clock

    async def now(self) -> datetime:
        return self.env.at


async def skip(clock: Clock, hours: int) -> None:
    await _Run.advance_to(cast(Any, Run(clock)), START + timedelta(hours=hours))


@pytest.mark.parametrize("message", ["Timeout expired", "h2 protocol error: http2 error"])
async def test_a_timed_out_skip_is_asked_again_from_where_the_clock_stands(message: str) -> None:
    clock = Clock(failures=2, message=message)
    await skip(clock, 8)
    assert clock.at == START + timedelta(hours=8)
    assert clock.asked == [8 * 3600, 4 * 3600, 2 * 3600]


async def test_other_errors_and_a_skip_that_keeps_timing_out_are_raised() -> None:
    with pytest.raises(RPCError, match="Timeout expired"):
        await skip(Clock(failures=3), 8)
    with pytest.raises(RPCError, match="not found"):
        await skip(Clock(failures=1, message="workflow not found"), 8)
