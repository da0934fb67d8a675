"""One enrollment's state and the primitives every step uses: the clock, the trace,
durable waits and activities.

``JourneyWorkflow`` builds on this class; the step handlers see it through the
protocols of ``interpreter``. Determinism: time comes only from ``workflow.now()``
(plus the simulation clock offset) and the world is touched only through activities.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

# Pydantic models and our pure helpers are stateless: the sandbox passes them through.
with workflow.unsafe.imports_passed_through():
    from engine.contracts.journey import (
        AttributesSignal,
        EnrollmentInput,
        EnrollmentStatusName,
        EventSignal,
        HandoffOutcomeSignal,
        ReceiptSignal,
        TraceEntry,
        Waiting,
    )
    from engine.expressions.context_refs import lookup, resolve
    from engine.models.journey import EventCondition
    from rules.conditions import dump_where
    from rules.match import match_where
    from workflows import policies
    from workflows.interpreter import Ended


class Enrollment:
    """The state of one run of one enrollment, restored from what the previous run
    (before a continue-as-new) carried over."""

    def __init__(self, input: EnrollmentInput) -> None:
        self.input = input
        self.journey = input.journey
        self.steps = {s.id: s for s in input.journey.steps}
        carried = input.carried
        self.step_id: str | None = carried.step
        self.visits: dict[str, int] = dict(carried.visits)
        self.trace: list[TraceEntry] = list(carried.pending_trace)
        self.trace_seq = carried.trace_seq
        self.signals_seen = carried.signals_seen
        self.variant = carried.variant
        self.status: EnrollmentStatusName = "running"
        self.exit_reason: str | None = None
        self.busy = False
        self.waiting: Waiting | None = None
        # Recent events, numbered in arrival order; a wait_for counts those that arrived
        # since the step before it was entered (an event may come during a send).
        self.inbox: list[tuple[int, EventSignal]] = []
        self.events_seen = 0
        self.mark = self.prev_mark = 0
        self.seen_messages: list[str] = list(carried.seen_messages)
        self.handoff_outcomes: dict[str, HandoffOutcomeSignal] = {}
        self.receipts: dict[str, ReceiptSignal] = {}
        # Dates that move: what the running wait's end depends on (("context", field) or
        # ("attribute", path)), and the new value of it a signal brought (value, source).
        self.wait_on: tuple[str, str] | None = None
        self.moved: tuple[Any, str] | None = None
        goal = input.journey.goal
        self.goal_deadline = input.enrolled_at + goal.within if goal and goal.within else None

    # ---- clock and trace -------------------------------------------------------------

    def now(self) -> datetime:
        return workflow.now() + timedelta(seconds=self.input.clock_offset_seconds)

    def record(self, kind: str, **fields: Any) -> None:
        self.trace_seq += 1
        entry = TraceEntry(
            seq=self.trace_seq, at=self.now(), step=self.step_id, kind=kind, **fields
        )
        self.trace.append(entry)

    def take_trace(self) -> list[TraceEntry]:
        """Hand pending trace entries to the next activity, which persists them."""
        out, self.trace = self.trace, []
        return out

    def base(self) -> dict[str, Any]:
        return {
            "enrollment_id": self.input.enrollment_id,
            "journey_id": self.journey.id,
            "version": self.input.version,
            "customer_id": self.input.customer_id,
            "step": self.step_id or "",
            "now": self.now(),
            "context": self.input.context,
            "trace": self.take_trace(),
        }

    # ---- status, goal and conditions -------------------------------------------------

    def end(self, status: EnrollmentStatusName, reason: str | None) -> None:
        if self.status == "running":
            self.status, self.exit_reason = status, reason

    def goal_open(self) -> bool:
        return self.goal_deadline is None or self.now() <= self.goal_deadline

    def matches(self, cond: EventCondition, signal: EventSignal) -> bool:
        if cond.event != signal.name:
            return False
        if not cond.where:
            return True
        where = resolve(dump_where(cond.where), self.input.context)
        return match_where(where, signal.properties, now=self.now())

    # ---- dates that move ------------------------------------------------------------

    def take_context(self, signal: EventSignal) -> None:
        """Merge the properties of an event the journey's ``context_from`` names into the
        context, key by key; a running wait on a changed field is re-planned."""
        if not any(self.matches(cond, signal) for cond in self.journey.context_from):
            return
        self.input.context.update(signal.properties)
        self.record("context", event=signal.name)
        if self.wait_on is not None and self.wait_on[0] == "context":
            field = self.wait_on[1]
            if field.split(".")[0] in signal.properties:
                self.moved = (lookup(self.input.context, field), f"context {field}")

    def take_attributes(self, signal: AttributesSignal) -> None:
        """A profile change: a running ``until_attribute`` wait on it is re-planned."""
        if self.wait_on is not None and self.wait_on[0] == "attribute":
            path = self.wait_on[1]
            if path.split(".")[0] in signal.values:
                self.moved = (lookup(signal.values, path), f"attribute {path}")

    # ---- waiting and activities ------------------------------------------------------

    async def wait(self, waiting: Waiting, done: Any = None, until: datetime | None = None) -> bool:
        """Wait until ``done()`` holds (True), ``until`` passes (False), or the enrollment ends."""
        self.waiting = waiting.model_copy(update={"until": until})
        timeout = None
        if until is not None:
            timeout = (until - self.now()).total_seconds()
            if timeout <= 0:
                self.waiting = None
                return bool(done and done())
        try:
            await workflow.wait_condition(
                lambda: self.status != "running" or bool(done and done()), timeout=timeout
            )
        except TimeoutError:
            return False
        finally:
            self.waiting = None
        if self.status != "running":
            raise Ended()
        return True

    async def activity(self, fn: str, arg: Any, result: type[Any], local: bool = False) -> Any:
        """Run one activity by name with its policy; the interpreter is busy meanwhile."""
        self.busy = True
        try:
            opts = policies.for_activity(fn)
            if local:
                return await workflow.execute_local_activity(fn, arg, result_type=result, **opts)
            return await workflow.execute_activity(fn, arg, result_type=result, **opts)
        finally:
            self.busy = False
