"""The journey interpreter: one generic workflow runs any journey for one customer.

Determinism: this module reads time only through ``workflow.now()`` (plus the
simulation clock offset), draws split buckets from a hash of the enrollment id, and
touches the world only through activities. Goals and exits are decided in signal
handlers, so they end the enrollment at once, even in the middle of a long wait.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from engine.contracts.journey import (
        WORKFLOW_NAME,
        BranchInput,
        BranchResult,
        CancelSignal,
        CarriedState,
        ChangeResult,
        EnrollmentInput,
        EnrollmentResult,
        EnrollmentState,
        EnrollmentStatusName,
        EscalateInput,
        EscalateResult,
        EventSignal,
        FinishInput,
        FinishResult,
        HandoffInput,
        HandoffOutcomeSignal,
        HandoffResult,
        ReadDateInput,
        ReadDateResult,
        ReceiptSignal,
        SegmentSignal,
        TagInput,
        TraceEntry,
        UpdateInput,
        Waiting,
    )
    from engine.expressions.clock import local_iso, next_local_time, parse_when
    from engine.expressions.context_refs import resolve
    from engine.models.journey import EventCondition, GoalEvent, GoalSegment
    from engine.models.steps import (
        BranchCase,
        BranchStep,
        ExitStep,
        HandoffStep,
        SendStep,
        SplitStep,
        TagStep,
        UpdateStep,
        WaitForStep,
        WaitStep,
    )
    from rules.conditions import dump_where
    from rules.durations import parse_time_of_day
    from rules.match import match_where
    from workflows import policies
    from workflows.sending import send_step


class _Ended(Exception):
    """Raised inside the interpreter when a signal ended the enrollment."""


@workflow.defn(name=WORKFLOW_NAME)
class JourneyWorkflow:
    """Runs one enrollment; the journey definition arrives pinned, by value."""

    @workflow.init
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

    # ---- signals and queries ---------------------------------------------------------

    def end(self, status: EnrollmentStatusName, reason: str | None) -> None:
        if self.status == "running":
            self.status, self.exit_reason = status, reason

    @workflow.signal
    def event(self, signal: EventSignal) -> None:
        """A customer event: may meet the goal, trigger an exit, or end a wait_for."""
        self.signals_seen += 1
        if self.status != "running":
            return
        if signal.message_id:
            # A re-dispatched event (retried request, sweep) is acted on once.
            if signal.message_id in self.seen_messages:
                return
            self.seen_messages.append(signal.message_id)
            del self.seen_messages[:-200]
        goal = self.journey.goal
        if isinstance(goal, GoalEvent) and self._matches(goal, signal) and self._goal_open():
            self.record("goal", event=signal.name)
            self.end("converted", "goal")
            return
        for cond in self.journey.exit_when:
            if isinstance(cond, EventCondition) and self._matches(cond, signal):
                self.record("exit", event=signal.name, reason=f"exit_when {signal.name}")
                self.end("exited", f"exit_when {signal.name}")
                return
        self.events_seen += 1
        self.inbox.append((self.events_seen, signal))
        del self.inbox[:-50]  # only recent events can still satisfy a wait_for

    @workflow.signal
    def segment(self, signal: SegmentSignal) -> None:
        """Segment membership changed: segment goals and segment exits."""
        self.signals_seen += 1
        if self.status != "running":
            return
        goal = self.journey.goal
        if (
            signal.entered
            and isinstance(goal, GoalSegment)
            and goal.segment_entered == signal.segment
            and self._goal_open()
        ):
            self.record("goal", event=f"segment_entered:{signal.segment}")
            self.end("converted", "goal")
            return
        for cond in self.journey.exit_when:
            exited = getattr(cond, "segment_exited", None)
            if not signal.entered and exited == signal.segment:
                reason = f"segment_exited {signal.segment}"
                self.record("exit", event=f"segment_exited:{signal.segment}", reason=reason)
                self.end("exited", reason)
                return

    @workflow.signal
    def handoff_outcome(self, signal: HandoffOutcomeSignal) -> None:
        self.signals_seen += 1
        self.handoff_outcomes[signal.task_id] = signal

    @workflow.signal
    def receipt(self, signal: ReceiptSignal) -> None:
        self.signals_seen += 1
        self.receipts[signal.provider_ref] = signal

    @workflow.signal
    def cancel(self, signal: CancelSignal) -> None:
        self.signals_seen += 1
        if self.status == "running":
            self.record("exit", reason=signal.reason)
            self.end("exited", signal.reason)

    @workflow.query
    def state(self) -> EnrollmentState:
        return EnrollmentState(
            step=self.step_id,
            status=self.status,
            busy=self.busy,
            waiting=self.waiting,
            signals_seen=self.signals_seen,
            pending_trace=self.trace,
            now=self.now(),
            variant=self.variant,
        )

    def _goal_open(self) -> bool:
        return self.goal_deadline is None or self.now() <= self.goal_deadline

    def _matches(self, cond: EventCondition, signal: EventSignal) -> bool:
        if cond.event != signal.name:
            return False
        if not cond.where:
            return True
        where = resolve(dump_where(cond.where), self.input.context)
        return match_where(where, signal.properties, now=self.now())

    # ---- waiting ---------------------------------------------------------------------

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
            raise _Ended()
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

    # ---- the interpreter -------------------------------------------------------------

    @workflow.run
    async def run(self, input: EnrollmentInput) -> EnrollmentResult:
        order = [s.id for s in self.journey.steps]
        next_id: str | None = self.step_id or order[0]
        first = True
        try:
            while next_id is not None and self.status == "running":
                self.step_id = next_id
                self._maybe_continue_as_new()
                self.visits[next_id] = self.visits.get(next_id, 0) + 1
                # Events that came before this run's first step (a signal can reach a
                # new enrollment before its first workflow task) count as arriving
                # during that step, like the events that come while it sends.
                self.prev_mark, self.mark = self.mark, 0 if first else self.events_seen
                first = False
                jump = await self.run_step(next_id)
                if self.status != "running":
                    break
                next_id = jump if jump is not None else self.default_next(next_id, order)
                if next_id is None:
                    self.record("exit", reason="completed")
                    self.end("completed", "completed")
        except _Ended:
            pass
        except (ActivityError, ApplicationError, ValueError) as err:
            why = _reason(err)
            self.record("exit", reason=f"failed: {why}")
            self.end("failed", why)
        finish = FinishInput(
            **self.base(), status=self.status, exit_reason=self.exit_reason, variant=self.variant
        )
        await self.activity("finish_enrollment", finish, FinishResult, local=True)
        return EnrollmentResult(
            enrollment_id=input.enrollment_id,
            status=self.status,
            exit_reason=self.exit_reason,
            variant=self.variant,
        )

    def default_next(self, step_id: str, order: list[str]) -> str | None:
        step = self.steps[step_id]
        if step.next:
            return step.next
        i = order.index(step_id)
        return order[i + 1] if i + 1 < len(order) else None

    def _maybe_continue_as_new(self) -> None:
        info = workflow.info()
        limit = self.input.options.continue_as_new_after_events
        if info.get_current_history_length() < limit and not info.is_continue_as_new_suggested():
            return
        carried = CarriedState(
            step=self.step_id,
            visits=self.visits,
            pending_trace=self.trace,
            trace_seq=self.trace_seq,
            signals_seen=self.signals_seen,
            seen_messages=self.seen_messages,
            variant=self.variant,
            runs=self.input.carried.runs + 1,
        )
        # Signal handlers are synchronous here, so no handler can still be running.
        workflow.continue_as_new(self.input.model_copy(update={"carried": carried}))

    async def run_step(self, step_id: str) -> str | None:
        """Run one step; return the step to jump to, or None for the default next."""
        step = self.steps[step_id]
        if isinstance(step, WaitStep):
            return await self.do_wait(step)
        if isinstance(step, WaitForStep):
            return await self.do_wait_for(step)
        if isinstance(step, BranchStep):
            return await self.do_branch(step)
        if isinstance(step, SplitStep):
            return await self.do_split(step)
        if isinstance(step, SendStep):
            return await send_step(self, step)
        if isinstance(step, TagStep):
            self.record("tag", detail=_tag_detail(step))
            arg = TagInput(**self.base(), add=step.tag.add, remove=step.tag.remove)
            await self.activity("apply_tags", arg, ChangeResult)
            return None
        if isinstance(step, UpdateStep):
            self.record("update", detail=", ".join(step.update.set))
            await self.activity(
                "update_profile", UpdateInput(**self.base(), values=step.update.set), ChangeResult
            )
            return None
        if isinstance(step, HandoffStep):
            return await self.do_handoff(step)
        if isinstance(step, ExitStep):
            self.record("exit", reason=step.exit)
            self.end("completed", step.exit)
            return None
        raise ApplicationError(f"unknown step kind {type(step).__name__}", non_retryable=True)

    async def do_wait(self, step: WaitStep) -> str | None:
        spec = step.wait
        now = self.now()
        target: datetime | None
        if spec.duration is not None:
            target = now + spec.duration
        elif spec.until is not None:
            hour, minute = parse_time_of_day(spec.until)
            target = next_local_time(now, self.input.timezone, hour, minute, spec.weekdays)
        else:
            if spec.until_attribute is not None:
                arg = ReadDateInput(**self.base(), attribute=spec.until_attribute)
                read = await self.activity("read_date", arg, ReadDateResult, local=True)
                target, source = read.value, f"attribute {spec.until_attribute}"
            else:
                field = spec.until_context or ""
                raw = resolve("{{ context." + field + " }}", self.input.context)
                target, source = parse_when(raw, self.input.timezone), f"context {field}"
            if target is None:
                raise ValueError(f"{source} is missing or not a date")
            if spec.offset is not None:
                target = target - spec.offset if spec.offset_negative else target + spec.offset
        self.record("wait", detail=f"until {local_iso(target, self.input.timezone)}")
        await self.wait(Waiting(kind="timer"), until=target)
        return None

    async def do_wait_for(self, step: WaitForStep) -> str | None:
        spec = step.wait_for
        self.record("wait_for", event=spec.event)
        since = self.prev_mark
        cond = EventCondition(event=spec.event, where=spec.where)
        found: list[EventSignal] = []

        def arrived() -> bool:
            for i, (n, signal) in enumerate(self.inbox):
                if n > since and self._matches(cond, signal):
                    found.append(signal)
                    del self.inbox[i]  # consumed: a later wait_for needs a new event
                    return True
            return False

        until = self.now() + spec.timeout
        if await self.wait(Waiting(kind="event"), arrived, until):
            self.record("event", event=found[0].name)
            return step.on_event
        self.record("timeout")
        return step.on_timeout

    async def do_branch(self, step: BranchStep) -> str | None:
        cases = [c for c in step.branch if isinstance(c, BranchCase)]
        otherwise = next((c.else_ for c in step.branch if not isinstance(c, BranchCase)), None)
        rules = [c.when.model_dump(mode="json", by_alias=True, exclude_none=True) for c in cases]
        result = await self.activity(
            "evaluate_branch", BranchInput(**self.base(), rules=rules), BranchResult, local=True
        )
        target = cases[result.index].goto if result.index is not None else otherwise
        self.record("branch", goto=target or "(next)")
        return target

    async def do_split(self, step: SplitStep) -> str | None:
        spec = step.split
        total = sum(v.weight for v in spec.variants) + (spec.holdout or 0)
        digest = hashlib.sha256(f"{self.input.enrollment_id}:{step.id}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * total
        for variant in spec.variants:
            if point < variant.weight:
                self.variant = variant.name
                self.record("split", variant=variant.name)
                return variant.goto
            point -= variant.weight
        self.variant = "holdout"
        self.record("split", variant="holdout")
        await self.hold()
        return None

    async def hold(self) -> None:
        """A holdout receives nothing but stays until its goal window closes."""
        goal = self.journey.goal
        if goal is not None:
            until = self.goal_deadline or self.now() + self.input.options.holdout_default_window
            await self.wait(Waiting(kind="hold"), until=until)
        self.record("exit", reason="holdout")
        self.end("exited", "holdout")
        raise _Ended()

    async def do_handoff(self, step: HandoffStep) -> str | None:
        spec = step.handoff
        due_at = self.now() + spec.due if spec.due else None
        arg = HandoffInput(
            **self.base(), queue=spec.queue, clinic=spec.clinic, message=spec.message, due_at=due_at
        )
        task = await self.activity("create_handoff", arg, HandoffResult)
        self.record("handoff", outcome="created", detail=task.task_id)
        waiting = Waiting(kind="handoff", task_id=task.task_id)
        answered = lambda: task.task_id in self.handoff_outcomes  # noqa: E731
        if not await self.wait(waiting, answered, due_at):
            if spec.escalate_to:
                arg2 = EscalateInput(**self.base(), task_id=task.task_id, queue=spec.escalate_to)
                await self.activity("escalate_handoff", arg2, EscalateResult)
                self.record("handoff", outcome="escalated", detail=spec.escalate_to)
            await self.wait(waiting, answered)
        outcome = self.handoff_outcomes.pop(task.task_id)
        self.record("handoff", outcome=outcome.outcome)
        return spec.outcomes.get(outcome.outcome)


def _tag_detail(step: TagStep) -> str:
    parts = [f"+{t}" for t in step.tag.add] + [f"-{t}" for t in step.tag.remove]
    return " ".join(parts)


def _reason(err: BaseException) -> str:
    cause: BaseException | None = err
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    return str(cause) if cause is not None else str(err)
