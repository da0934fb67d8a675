"""What a step handler sees of the journey interpreter, and how a signal ends it.

The step handlers (``steps``, ``sending``) take the running enrollment through
these protocols instead of importing the workflow class, so the workflow module
imports its handlers and nothing imports it back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from temporalio import workflow

# Pydantic models and our pure helpers are stateless: the sandbox passes them through.
with workflow.unsafe.imports_passed_through():
    from engine.contracts.journey import EnrollmentInput, Waiting
    from engine.errors import CarepathError


class Ended(CarepathError):
    """Raised inside the interpreter when a signal ended the enrollment."""


class Interpreter(Protocol):
    """The running enrollment as every step handler uses it: its input, its clock,
    its trace, durable waits and activities."""

    @property
    def input(self) -> EnrollmentInput: ...

    def now(self) -> datetime:
        """Workflow time plus the simulation's clock offset."""
        ...

    def record(self, kind: str, **fields: Any) -> None:
        """Add a trace entry at the current step."""
        ...

    def base(self) -> dict[str, Any]:
        """The fields every activity input starts with (and the pending trace)."""
        ...

    async def wait(self, waiting: Waiting, done: Any = None, until: datetime | None = None) -> bool:
        """Wait until ``done()`` holds (True) or ``until`` passes (False); raise
        ``Ended`` when a signal ended the enrollment meanwhile."""
        ...

    async def activity(self, fn: str, arg: Any, result: type[Any], local: bool = False) -> Any:
        """Run one activity by name with its policy."""
        ...
