"""Enrollments: enrolling a customer by API, reading one with its trace, cancelling it."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, DispatcherDep
from api.errors import problem_responses
from api.schemas.enrollments import (
    CancelRequest,
    CancelResult,
    EnrollmentCreate,
    EnrollmentPublic,
    EnrollmentStarted,
)

router = APIRouter(tags=["enrollments"])


@router.post(
    "/journeys/{journey_id}/enrollments",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrollmentStarted,
    responses={
        200: {"model": EnrollmentStarted, "description": "Already enrolled with this key"},
        **problem_responses(404, 409, 503),
    },
)
async def enroll(
    journey_id: str,
    body: EnrollmentCreate,
    response: Response,
    caller: Admin,
    dispatcher: DispatcherDep,
) -> EnrollmentStarted:
    """Enroll a known customer; 409 when paused, not eligible or not allowed again."""
    customer_id, result = await dispatcher.enroll_api(journey_id, body.customer, body.context)
    if result.status in ("not_eligible", "not_again") or result.enrollment_id is None:
        raise HTTPException(409, f"{result.status}: {result.detail}")
    if result.status == "already_active":
        response.status_code = status.HTTP_200_OK
    return EnrollmentStarted(
        enrollment_id=result.enrollment_id, status=result.status, customer_id=customer_id
    )


@router.get(
    "/enrollments/{enrollment_id}",
    response_model=EnrollmentPublic,
    responses=problem_responses(404, 503),
)
async def get_enrollment(
    enrollment_id: str, caller: Admin, dispatcher: DispatcherDep
) -> EnrollmentPublic:
    """An enrollment with its trace, including what a running one has not stored yet."""
    record = await run_in_threadpool(caller.enrollment, enrollment_id)
    trace = await dispatcher.live_trace(enrollment_id)
    return EnrollmentPublic(**record.model_dump(), trace=[e.public() for e in trace])


@router.post(
    "/enrollments/{enrollment_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CancelResult,
    responses=problem_responses(404, 503),
)
async def cancel(
    enrollment_id: str,
    caller: Admin,
    dispatcher: DispatcherDep,
    body: CancelRequest | None = None,
) -> CancelResult:
    """Ask a running enrollment to stop; it records the reason and exits. The cancel is
    stored first: while Temporal cannot be reached it is sent once it is back
    (dispatch_pending)."""
    reason = body.reason if body is not None else "cancelled"
    signalled, pending = await dispatcher.cancel(enrollment_id, reason)
    return CancelResult(enrollment_id=enrollment_id, signalled=signalled, dispatch_pending=pending)
