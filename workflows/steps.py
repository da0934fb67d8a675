"""The step handlers other than ``send`` (``sending``): waits, branches, splits,
tags, profile updates and handoffs.

Each takes the running enrollment (``Stepper``) and its step, and returns the step
to jump to, or None for the default next. Determinism: time comes only from the
interpreter's clock, split buckets from a hash of the enrollment id and the step.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Protocol

from temporalio import workflow
from temporalio.exceptions import FailureError

# Pydantic models and our pure helpers are stateless: the sandbox passes them through.
with workflow.unsafe.imports_passed_through():
    from engine.contracts.journey import (
        AttributesSignal,
        BranchInput,
        BranchResult,
        ChangeResult,
        EnrollmentStatusName,
        EscalateInput,
        EscalateResult,
        EventSignal,
        HandoffInput,
        HandoffOutcomeSignal,
        HandoffResult,
        ReadDateInput,
        ReadDateResult,
        TagInput,
        TraceInput,
        TraceResult,
        UpdateInput,
        UpdateResult,
        Waiting,
    )
    from engine.expressions.clock import local_iso, next_local_time, parse_when
    from engine.expressions.context_refs import resolve
    from engine.models.journey import EventCondition, Journey
    from engine.models.steps import (
        BranchCase,
        BranchStep,
        HandoffStep,
        SplitStep,
        TagStep,
        UpdateStep,
        WaitForStep,
        WaitSpec,
        WaitStep,
    )
    from rules.durations import parse_time_of_day
    from workflows.interpreter import Ended, Interpreter


class Stepper(Interpreter, Protocol):
    """What these handlers use beyond ``Interpreter``: the journey, the event inbox,
    handoff answers, the split variant and ending the enrollment."""

    @property
    def journey(self) -> Journey: ...

    variant: str | None
    prev_mark: int
    inbox: list[tuple[int, EventSignal]]
    handoff_outcomes: dict[str, HandoffOutcomeSignal]
    goal_deadline: datetime | None
    wait_on: tuple[str, str] | None
    moved: tuple[Any, str] | None

    def end(self, status: EnrollmentStatusName, reason: str | None) -> None: ...

    def matches(self, cond: EventCondition, signal: EventSignal) -> bool: ...


#: ``workflow.patched`` id of waits that re-plan when their date moves; histories
#: recorded before it replay without (their waits never re-planned).
REPLAN_PATCH = "replan-date-waits"


async def run_wait(wf: Stepper, step: WaitStep) -> str | None:
    spec = step.wait
    now = wf.now()
    if spec.duration is not None or spec.until is not None:
        if spec.duration is not None:
            target = now + spec.duration
        else:
            hour, minute = parse_time_of_day(spec.until or "")
            target = next_local_time(now, wf.input.timezone, hour, minute, spec.weekdays)
        wf.record("wait", detail=f"until {local_iso(target, wf.input.timezone)}")
        await wf.wait(Waiting(kind="timer"), until=target)
        return None
    if not workflow.patched(REPLAN_PATCH):
        await _date_wait_v1(wf, spec)
        return None
    # Set before the read: a change that comes while the attribute is read still counts.
    if spec.until_attribute is not None:
        wf.wait_on = ("attribute", spec.until_attribute)
    else:
        wf.wait_on = ("context", spec.until_context or "")
    try:
        await _date_wait(wf, spec)
    finally:
        wf.wait_on, wf.moved = None, None
    return None


async def _read_target(wf: Stepper, spec: WaitSpec) -> tuple[datetime | None, str]:
    """The wait's end from its date (attribute or context field) and offset."""
    if spec.until_attribute is not None:
        arg = ReadDateInput(**wf.base(), attribute=spec.until_attribute)
        read = await wf.activity("read_date", arg, ReadDateResult, local=True)
        return _shifted(spec, read.value), f"attribute {spec.until_attribute}"
    field = spec.until_context or ""
    raw = resolve("{{ context." + field + " }}", wf.input.context)
    return _shifted(spec, parse_when(raw, wf.input.timezone)), f"context {field}"


def _shifted(spec: WaitSpec, when: datetime | None) -> datetime | None:
    if when is None or spec.offset is None:
        return when
    return when - spec.offset if spec.offset_negative else when + spec.offset


async def _date_wait_v1(wf: Stepper, spec: WaitSpec) -> None:
    """A date wait as histories before ``REPLAN_PATCH`` ran it: never re-planned."""
    target, source = await _read_target(wf, spec)
    if target is None:
        raise ValueError(f"{source} is missing or not a date")
    wf.record("wait", detail=f"until {local_iso(target, wf.input.timezone)}")
    await wf.wait(Waiting(kind="timer"), until=target)


async def _date_wait(wf: Stepper, spec: WaitSpec) -> None:
    """A date wait that moves with its date: each change cancels the timer and starts
    one for the new end (none when that has passed); an unusable value keeps the end."""
    target, source = await _read_target(wf, spec)
    if target is None:
        raise ValueError(f"{source} is missing or not a date")
    tz = wf.input.timezone
    wf.record("wait", detail=f"until {local_iso(target, tz)}")
    while await wf.wait(Waiting(kind="timer"), lambda: wf.moved is not None, until=target):
        assert wf.moved is not None
        raw, source = wf.moved
        wf.moved = None
        new = _shifted(spec, parse_when(raw, tz))
        if new == target:
            continue  # the same date again (a change the read already saw): nothing moves
        if new is None:
            kept = local_iso(target, tz)
            detail = f"{source} is {'removed' if raw is None else 'not a date: ' + repr(raw)}"
            wf.record("replan", detail=f"{detail}; the wait still ends at {kept}")
        else:
            wf.record("replan", from_=local_iso(target, tz), to=local_iso(new, tz))
            target = new


async def run_wait_for(wf: Stepper, step: WaitForStep) -> str | None:
    spec = step.wait_for
    wf.record("wait_for", event=spec.event)
    since = wf.prev_mark
    cond = EventCondition(event=spec.event, where=spec.where)
    found: list[EventSignal] = []

    def arrived() -> bool:
        for i, (n, signal) in enumerate(wf.inbox):
            if n > since and wf.matches(cond, signal):
                found.append(signal)
                del wf.inbox[i]  # consumed: a later wait_for needs a new event
                return True
        return False

    until = wf.now() + spec.timeout
    if await wf.wait(Waiting(kind="event"), arrived, until):
        wf.record("event", event=found[0].name)
        return step.on_event
    wf.record("timeout")
    return step.on_timeout


async def run_branch(wf: Stepper, step: BranchStep) -> str | None:
    cases = [c for c in step.branch if isinstance(c, BranchCase)]
    otherwise = next((c.else_ for c in step.branch if not isinstance(c, BranchCase)), None)
    rules = [c.when.model_dump(mode="json", by_alias=True, exclude_none=True) for c in cases]
    result = await wf.activity(
        "evaluate_branch", BranchInput(**wf.base(), rules=rules), BranchResult, local=True
    )
    target = cases[result.index].goto if result.index is not None else otherwise
    wf.record("branch", goto=target or "(next)")
    return target


async def run_split(wf: Stepper, step: SplitStep) -> str | None:
    spec = step.split
    total = sum(v.weight for v in spec.variants) + (spec.holdout or 0)
    digest = hashlib.sha256(f"{wf.input.enrollment_id}:{step.id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * total
    for variant in spec.variants:
        if point < variant.weight:
            wf.variant = variant.name
            wf.record("split", variant=variant.name)
            return variant.goto
        point -= variant.weight
    wf.variant = "holdout"
    wf.record("split", variant="holdout")
    await hold(wf)
    return None


async def hold(wf: Stepper) -> None:
    """A holdout receives nothing but stays until its goal window closes."""
    goal = wf.journey.goal
    if goal is not None:
        if workflow.patched("holdout-draw-stored"):
            # The draw is in the pending trace: store it now, so the journey metrics
            # count this member in the holdout while it waits (no other activity runs
            # before the window closes). Older histories did not; they replay as they were.
            await wf.activity("store_trace", TraceInput(**wf.base()), TraceResult, local=True)
        until = wf.goal_deadline or wf.now() + wf.input.options.holdout_default_window
        await wf.wait(Waiting(kind="hold"), until=until)
    wf.record("exit", reason="holdout")
    wf.end("exited", "holdout")
    raise Ended()


async def run_tag(wf: Stepper, step: TagStep) -> str | None:
    wf.record("tag", detail=_tag_detail(step))
    arg = TagInput(**wf.base(), add=step.tag.add, remove=step.tag.remove)
    await wf.activity("apply_tags", arg, ChangeResult)
    return None


async def run_update(wf: Stepper, step: UpdateStep) -> str | None:
    wf.record("update", detail=", ".join(step.update.set))
    arg = UpdateInput(**wf.base(), values=step.update.set)
    result = await wf.activity("update_profile", arg, UpdateResult)
    if result.waiting:
        # The customer's other enrollments waiting on a changed date re-plan (contract
        # 3). Signalled from here, durably, so a worker crash cannot lose the change.
        signal = AttributesSignal(values=result.values, at=wf.now())
        for enrollment_id in result.waiting:
            try:
                await workflow.get_external_workflow_handle(enrollment_id).signal(
                    "attributes", signal
                )
            except FailureError:
                pass  # it ended meanwhile: nothing waits on the date any more
    return None


async def run_handoff(wf: Stepper, step: HandoffStep) -> str | None:
    spec = step.handoff
    due_at = wf.now() + spec.due if spec.due else None
    arg = HandoffInput(
        **wf.base(), queue=spec.queue, clinic=spec.clinic, message=spec.message, due_at=due_at
    )
    task = await wf.activity("create_handoff", arg, HandoffResult)
    wf.record("handoff", outcome="created", detail=task.task_id)
    waiting = Waiting(kind="handoff", task_id=task.task_id)
    answered = lambda: task.task_id in wf.handoff_outcomes  # noqa: E731
    if not await wf.wait(waiting, answered, due_at):
        if spec.escalate_to:
            arg2 = EscalateInput(**wf.base(), task_id=task.task_id, queue=spec.escalate_to)
            await wf.activity("escalate_handoff", arg2, EscalateResult)
            wf.record("handoff", outcome="escalated", detail=spec.escalate_to)
        await wf.wait(waiting, answered)
    outcome = wf.handoff_outcomes.pop(task.task_id)
    wf.record("handoff", outcome=outcome.outcome)
    return spec.outcomes.get(outcome.outcome)


def _tag_detail(step: TagStep) -> str:
    parts = [f"+{t}" for t in step.tag.add] + [f"-{t}" for t in step.tag.remove]
    return " ".join(parts)
