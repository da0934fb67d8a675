"""Ending a run still waiting when the simulation reaches `until`: a run that completed
on its own between the store's read and the cancel signal is not an error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from temporalio.service import RPCError, RPCStatusCode

from cli.simulation import _end_waiting


@dataclass
class Handle:
    """A workflow handle whose signal fails with ``status`` (None: it is delivered)."""

    status: RPCStatusCode | None
    calls: list[str] = field(default_factory=list)

    async def signal(self, name: str, arg: object) -> None:
        self.calls.append(name)
        if self.status is not None:
            raise RPCError("Completed workflow", self.status, b"")

    async def result(self) -> None:
        self.calls.append("result")


async def test_a_waiting_run_is_cancelled_and_awaited() -> None:
    handle = Handle(status=None)
    assert await _end_waiting(cast(Any, handle)) is True
    assert handle.calls == ["cancel", "result"]


async def test_a_run_that_completed_meanwhile_is_awaited_and_reported_finished() -> None:
    handle = Handle(status=RPCStatusCode.NOT_FOUND)
    assert await _end_waiting(cast(Any, handle)) is False
    assert handle.calls == ["cancel", "result"]


async def test_other_signal_errors_are_raised() -> None:
    handle = Handle(status=RPCStatusCode.UNAVAILABLE)
    with pytest.raises(RPCError):
        await _end_waiting(cast(Any, handle))
    assert handle.calls == ["cancel"]
