"""The journey interpreter: one generic workflow runs any journey for one customer.

Determinism: the interpreter reads time only through ``workflow.now()`` (plus the
simulation clock offset), draws split buckets from a hash of the enrollment id, and
touches the world only through activities. Goals and exits are decided in signal
handlers, so they end the enrollment at once, even in the middle of a long wait.
The state and its primitives (clock, trace, waits, activities) are in
``enrollment``; the step handlers in ``steps`` and ``sending``.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

# Pydantic models and our pure helpers are stateless: the sandbox passes them through.
with workflow.unsafe.imports_passed_through():
    from engine.contracts.journey import (
        WORKFLOW_NAME,
        AttributesSignal,
        CancelSignal,
        CarriedState,
        EnrollmentInput,
        EnrollmentResult,
        EnrollmentState,
        EventSignal,
        FinishInput,
        FinishResult,
        HandoffOutcomeSignal,
        ReceiptSignal,
        SegmentSignal,
    )
    from engine.models.journey import EventCondition, GoalEvent, GoalSegment
    from engine.models.steps import (
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
    from workflows import steps
    from workflows.enrollment import Enrollment
    from workflows.interpreter import Ended
    from workflows.sending import send_step
    from workflows.visibility import Visibility


@workflow.defn(name=WORKFLOW_NAME)
class JourneyWorkflow(Enrollment):
    """Runs one enrollment; the journey definition arrives pinned, by value."""

    @workflow.init
    def __init__(self, input: EnrollmentInput) -> None:
        # Handlers that run before ``run`` (a signal can come first) see the state.
        super().__init__(input)
        self.visibility = Visibility(input.journey.id, input.version)

    # ---- signals and queries ---------------------------------------------------------

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
        # The context first: goals and exits read the updated context (contract 3).
        self.take_context(signal)
        goal = self.journey.goal
        if isinstance(goal, GoalEvent) and self.matches(goal, signal) and self.goal_open():
            self.record("goal", event=signal.name)
            self.end("converted", "goal")
            return
        for cond in self.journey.exit_when:
            if isinstance(cond, EventCondition) and self.matches(cond, signal):
                self.record("exit", event=signal.name, reason=f"exit_when {signal.name}")
                self.end("exited", f"exit_when {signal.name}")
                return
        self.events_seen += 1
        self.inbox.append((self.events_seen, signal))
        del self.inbox[:-50]  # only recent events can still satisfy a wait_for

    @workflow.signal
    def attributes(self, signal: AttributesSignal) -> None:
        """Profile attributes changed: a running ``until_attribute`` wait is re-planned."""
        self.signals_seen += 1
        if self.status == "running":
            self.take_attributes(signal)

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
            and self.goal_open()
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
                self.visibility.enter(next_id)
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
        except Ended:
            pass
        except (ActivityError, ApplicationError, ValueError) as err:
            why = _reason(err)
            self.record("exit", reason=f"failed: {why}")
            self.end("failed", why)
        self.visibility.ended(self.status)
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
            return await steps.run_wait(self, step)
        if isinstance(step, WaitForStep):
            return await steps.run_wait_for(self, step)
        if isinstance(step, BranchStep):
            return await steps.run_branch(self, step)
        if isinstance(step, SplitStep):
            return await steps.run_split(self, step)
        if isinstance(step, SendStep):
            return await send_step(self, step)
        if isinstance(step, TagStep):
            return await steps.run_tag(self, step)
        if isinstance(step, UpdateStep):
            return await steps.run_update(self, step)
        if isinstance(step, HandoffStep):
            return await steps.run_handoff(self, step)
        if isinstance(step, ExitStep):
            self.record("exit", reason=step.exit)
            self.end("completed", step.exit)
            return None
        raise ApplicationError(f"unknown step kind {type(step).__name__}", non_retryable=True)


def _reason(err: BaseException) -> str:
    cause: BaseException | None = err
    while isinstance(cause, ActivityError) and cause.cause is not None:
        cause = cause.cause
    return str(cause) if cause is not None else str(err)
