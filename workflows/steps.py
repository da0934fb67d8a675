"""The step handlers other than ``send`` (``sending``): waits, branches, splits,
tags, profile updates and handoffs.

Each takes the running enrollment (``Stepper``) and its step, and returns the step
to jump to, or None for the default next. Determinism: time comes only from the
interpreter's clock, split buckets from a hash of the enrollment id and the step.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Protocol

from temporalio import workflow

# Pydantic models and our pure helpers are stateless: the sandbox passes them through.
with workflow.unsafe.imports_passed_through():
    from engine.contracts.journey import (
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
        UpdateInput,
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

    def end(self, status: EnrollmentStatusName, reason: str | None) -> None: ...

    def matches(self, cond: EventCondition, signal: EventSignal) -> bool: ...


async def run_wait(wf: Stepper, step: WaitStep) -> str | None:
    spec = step.wait
    now = wf.now()
    target: datetime | None
    if spec.duration is not None:
        target = now + spec.duration
    elif spec.until is not None:
        hour, minute = parse_time_of_day(spec.until)
        target = next_local_time(now, wf.input.timezone, hour, minute, spec.weekdays)
    else:
        if spec.until_attribute is not None:
            arg = ReadDateInput(**wf.base(), attribute=spec.until_attribute)
            read = await wf.activity("read_date", arg, ReadDateResult, local=True)
            target, source = read.value, f"attribute {spec.until_attribute}"
        else:
            field = spec.until_context or ""
            raw = resolve("{{ context." + field + " }}", wf.input.context)
            target, source = parse_when(raw, wf.input.timezone), f"context {field}"
        if target is None:
            raise ValueError(f"{source} is missing or not a date")
        if spec.offset is not None:
            target = target - spec.offset if spec.offset_negative else target + spec.offset
    wf.record("wait", detail=f"until {local_iso(target, wf.input.timezone)}")
    await wf.wait(Waiting(kind="timer"), until=target)
    return None


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
    await wf.activity(
        "update_profile", UpdateInput(**wf.base(), values=step.update.set), ChangeResult
    )
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
