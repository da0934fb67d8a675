"""Signals to running enrollments: forwarded events, receipts, staff answers, cancels.

Staff answers (handoff outcomes) and cancels are kept in the store before they are
sent (``pending_signals``) and marked once Temporal took them, so one accepted while
Temporal is away is sent by the sweep when it is back.

An enrollment is a workflow whose id is the enrollment id. A signal to one that has
ended meanwhile is not an error (Temporal answers NOT_FOUND): its record catches up,
and the caller learns it was not delivered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from engine.contracts.journey import (
    AttributesSignal,
    CancelSignal,
    EnrollmentState,
    HandoffOutcomeSignal,
    ReceiptSignal,
    TraceEntry,
)
from engine.dispatch.attempts import Attempts
from engine.dispatch.pending import dispatch_or_defer
from engine.dispatch.report import DispatchReport
from engine.expressions.clock import utcnow
from engine.store.records import HandoffTask, PendingSignal
from engine.store.service_store import ServiceStore

#: The signals kept until sent (``pending_signals.name``), and their argument's model.
_SIGNALS: dict[str, type[BaseModel]] = {
    "handoff_outcome": HandoffOutcomeSignal,
    "cancel": CancelSignal,
}


class Signals:
    """Tells running enrollments what happened, and reads what they hold."""

    def __init__(self, client: Client, store: ServiceStore, attempts: Attempts) -> None:
        self.client = client
        self.store = store
        self.attempts = attempts

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

    async def attributes_changed(
        self, customer_id: str, values: dict[str, Any], at: datetime
    ) -> DispatchReport:
        """Tell the customer's running enrollments whose journey has an
        ``until_attribute`` wait on one of these attributes (the others could do nothing
        with it: a CRM sync that sets every attribute signals nobody needlessly)."""
        names = set(values)

        def waiting_on() -> list[str]:
            running = self.store.list_enrollments(customer_id=customer_id, status="running")
            return [
                e.id
                for e in running
                if self.store.get_bundle(e.journey_id, e.version).journey.date_attributes() & names
            ]

        targets = await asyncio.to_thread(waiting_on)
        if not targets:
            return DispatchReport()
        signal = AttributesSignal(values=values, at=at)
        return await self.forward(customer_id, "attributes", signal, running=targets)

    async def complete_handoff(
        self,
        task_id: str,
        outcome: str,
        note: str | None,
        check: Callable[[HandoffTask], None] | None = None,
    ) -> tuple[HandoffTask, bool]:
        """Record a handoff outcome and resume the waiting enrollment; ``check(task)``
        (the caller's permission and outcome checks) runs first, in the same thread.

        The outcome and its signal are stored in one transaction, so a task that left
        the queue always resumes its enrollment: now, or (pending: True) by the sweep
        once Temporal can be reached. The workflow keeps one outcome per task, so a
        signal sent twice changes nothing."""

        def record() -> tuple[HandoffTask, PendingSignal]:
            if check is not None:
                check(self.store.get_task(task_id))
            return self.store.complete_task_signal(task_id, outcome, note, at=utcnow())

        task, kept = await asyncio.to_thread(record)
        _, pending = await dispatch_or_defer(
            lambda: self.deliver(kept), "the outcome of handoff task %s", task_id
        )
        return task, pending

    async def receipt(self, enrollment_id: str, signal: ReceiptSignal) -> bool:
        """Tell an enrollment what became of a message it sent (a provider's receipt)."""
        return await self.send(enrollment_id, "receipt", signal)

    async def cancel(self, enrollment_id: str, reason: str) -> tuple[bool, bool]:
        """Ask an enrollment to end (NotFound for an unknown id): (signalled, pending).
        Signalled is False when it had ended; pending when Temporal could not be reached
        (the cancel is kept and the sweep sends it; a running workflow acts on the
        first cancel only)."""
        record = await asyncio.to_thread(self.store.get_enrollment, enrollment_id)
        kept = await asyncio.to_thread(
            self.store.keep_signal,
            f"cancel:{enrollment_id}",
            enrollment_id,
            record.customer_id,
            "cancel",
            CancelSignal(reason=reason).model_dump(mode="json"),
            at=utcnow(),
        )
        report, pending = await dispatch_or_defer(
            lambda: self.deliver(kept), "the cancel of %s", enrollment_id
        )
        return bool(report.signalled), pending

    async def deliver(self, kept: PendingSignal) -> DispatchReport:
        """Send a kept signal and mark it sent (also when its enrollment had ended)."""
        arg: BaseModel = _SIGNALS[kept.name].model_validate(kept.payload)
        report = DispatchReport()
        if await self.send(kept.enrollment_id, kept.name, arg):
            report.signalled.append(kept.enrollment_id)
        await asyncio.to_thread(self.store.mark_signals_dispatched, [kept.id], at=utcnow())
        return report

    async def sweep(self, older_than: float) -> int:
        """Send the kept signals Temporal never took (accepted ``older_than`` seconds
        ago or more), each on its own; how many."""
        before = utcnow() - timedelta(seconds=older_than)
        kept = await asyncio.to_thread(self.store.undispatched_signals, before)
        for signal in kept:
            await self.attempts.run(
                "signal", signal.id, signal.customer_id, partial(self.deliver, signal)
            )
        return len(kept)

    async def live_trace(self, enrollment_id: str) -> list[TraceEntry]:
        """The stored trace plus what a running enrollment has not persisted yet."""
        trace = await asyncio.to_thread(self.store.get_trace, enrollment_id)
        record = await asyncio.to_thread(self.store.get_enrollment, enrollment_id)
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
