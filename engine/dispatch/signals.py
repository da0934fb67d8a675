"""Signals to running enrollments: forwarded events, receipts, staff answers, cancels.

An enrollment is a workflow whose id is the enrollment id. A signal to one that has
ended meanwhile is not an error (Temporal answers NOT_FOUND): its record catches up,
and the caller learns it was not delivered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from engine.contracts.journey import (
    CancelSignal,
    EnrollmentState,
    HandoffOutcomeSignal,
    ReceiptSignal,
    TraceEntry,
)
from engine.dispatch.report import DispatchReport
from engine.store.records import HandoffTask
from engine.store.service_store import ServiceStore


class Signals:
    """Tells running enrollments what happened, and reads what they hold."""

    def __init__(self, client: Client, store: ServiceStore) -> None:
        self.client = client
        self.store = store

    async def send(self, enrollment_id: str, name: str, arg: Any) -> bool:
        """Signal one enrollment; False when it has ended."""
        try:
            await self.client.get_workflow_handle(enrollment_id).signal(name, arg)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False  # it ended meanwhile; its record catches up
            raise
        return True

    async def forward(
        self,
        customer_id: str,
        name: str,
        signal: Any,
        skip: set[str] | None = None,
        running: list[str] | None = None,
    ) -> DispatchReport:
        """Signal the customer's running enrollments (``running``: their ids, when the
        caller read them already) except those in ``skip``."""
        report = DispatchReport()
        if running is None:
            records = await asyncio.to_thread(
                self.store.list_enrollments, customer_id=customer_id, status="running"
            )
            running = [e.id for e in records]
        targets = [eid for eid in running if eid not in (skip or set())]
        sends = [self.send(eid, name, signal) for eid in targets]
        for eid, ok in zip(targets, await asyncio.gather(*sends), strict=True):
            if ok:
                report.signalled.append(eid)
        return report

    async def complete_handoff(
        self,
        task_id: str,
        outcome: str,
        note: str | None,
        check: Callable[[HandoffTask], None] | None = None,
    ) -> HandoffTask:
        """Record a handoff outcome and resume the waiting enrollment; ``check(task)``
        (the caller's permission and outcome checks) runs first, in the same thread."""

        def record() -> HandoffTask:
            if check is not None:
                check(self.store.get_task(task_id))
            return self.store.complete_task(task_id, outcome)

        task = await asyncio.to_thread(record)
        await self.send(
            task.enrollment_id,
            "handoff_outcome",
            HandoffOutcomeSignal(task_id=task_id, outcome=outcome, note=note),
        )
        return task

    async def receipt(self, enrollment_id: str, signal: ReceiptSignal) -> bool:
        """Tell an enrollment what became of a message it sent (a provider's receipt)."""
        return await self.send(enrollment_id, "receipt", signal)

    async def cancel(self, enrollment_id: str, reason: str) -> bool:
        """Ask an enrollment to end (NotFound for an unknown id); False when it had."""
        self.store.get_enrollment(enrollment_id)
        return await self.send(enrollment_id, "cancel", CancelSignal(reason=reason))

    async def live_trace(self, enrollment_id: str) -> list[TraceEntry]:
        """The stored trace plus what a running enrollment has not persisted yet."""
        trace = self.store.get_trace(enrollment_id)
        record = self.store.get_enrollment(enrollment_id)
        if record.status != "running":
            return trace
        try:
            state = await self.client.get_workflow_handle(enrollment_id).query(
                "state", result_type=EnrollmentState
            )
        except RPCError:
            return trace
        last = trace[-1].seq if trace else 0
        return trace + [e for e in state.pending_trace if e.seq > last]
