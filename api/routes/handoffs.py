"""Handoffs: staff work queues; completing a task resumes the waiting enrollment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError

from api.deps import DispatcherDep, Staff, StoreDep
from api.errors import problem_responses
from api.schemas.handoffs import HandoffComplete, HandoffCompleted, HandoffPublic
from engine.models.steps import HandoffStep
from engine.store.records import HandoffTask
from engine.store.service_store import ServiceStore

router = APIRouter(prefix="/handoffs", tags=["handoffs"])


@router.get("", response_model=list[HandoffPublic])
def list_open(
    caller: Staff,
    store: StoreDep,
    queue: Annotated[str | None, Query(description="only this queue, e.g. optometrist")] = None,
    clinic: Annotated[str | None, Query(description="only this clinic")] = None,
) -> list[HandoffPublic]:
    """Open tasks (open, claimed or escalated); staff keys see their clinics only."""
    allowed = caller.clinics
    if clinic is not None and allowed is not None and clinic not in allowed:
        raise HTTPException(403, f"key {caller.key.name!r} may not see clinic {clinic!r}")
    clinics = [clinic] if clinic is not None else allowed
    return [_public(t) for t in store.list_open_tasks(queue=queue, clinics=clinics)]


@router.post(
    "/{task_id}/claim", response_model=HandoffPublic, responses=problem_responses(404, 409)
)
def claim(task_id: str, caller: Staff, store: StoreDep) -> HandoffPublic:
    """Take a task, so colleagues see someone is on it."""
    caller.task(task_id)
    return _public(store.claim_task(task_id, caller.source))


@router.post(
    "/{task_id}/complete",
    response_model=HandoffCompleted,
    responses={
        202: {
            "model": HandoffCompleted,
            "description": "Outcome recorded; Temporal unreachable, the enrollment resumes "
            "once it is back (dispatch_pending)",
        },
        **problem_responses(404, 409, 503),
    },
)
async def complete(
    task_id: str,
    body: HandoffComplete,
    caller: Staff,
    store: StoreDep,
    dispatcher: DispatcherDep,
    response: Response,
) -> HandoffCompleted:
    """Report the outcome; the enrollment continues at the step the outcome names."""

    def check(task: HandoffTask) -> None:
        caller.check_task(task)
        check_outcome(store, task, body.outcome)

    task, pending = await dispatcher.complete_handoff(task_id, body.outcome, body.note, check)
    if pending:  # recorded, and its signal kept: the sweep resumes the enrollment
        response.status_code = status.HTTP_202_ACCEPTED
    return HandoffCompleted.model_validate({**task.model_dump(), "dispatch_pending": pending})


def check_outcome(store: ServiceStore, task: HandoffTask, outcome: str) -> None:
    allowed = outcomes_of(store, task)
    if allowed and outcome not in allowed:
        reason = f"{outcome!r} is not an outcome of step {task.step}: {', '.join(allowed)}"
        raise RequestValidationError(
            [{"loc": ("body", "outcome"), "msg": reason, "type": "outcome"}]
        )


def outcomes_of(store: ServiceStore, task: HandoffTask) -> list[str]:
    """The outcomes the task's handoff step names (empty: any outcome goes on)."""
    record = store.get_enrollment(task.enrollment_id)
    journey = store.get_bundle(record.journey_id, record.version).journey
    for step in journey.steps:
        if step.id == task.step and isinstance(step, HandoffStep):
            return sorted(step.handoff.outcomes)
    return []


def _public(task: HandoffTask) -> HandoffPublic:
    return HandoffPublic.model_validate(task.model_dump())
