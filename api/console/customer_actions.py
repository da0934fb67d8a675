"""What the profile page's forms change, each by calling the route function its
``/v1`` route is (the same validation, store calls and dispatch), with the user's
caller: changes are attributed to ``console:<username>``.

Every form is a POST with the session's CSRF token (``Checked``), works without
JavaScript (success: 303 back to the profile with ``?done=``; a refusal: the profile
with the problem, 422) and with htmx (the forms swap ``#profile`` from the answer).
Each action needs the scope its API route needs (``may``): adding and removing tags,
consents, enrolling and cancelling are admin routes (admins and operators); recording
a refusal of automated marketing is a staff route. A customer the user may not see is
the 404 page, as for every page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from temporalio.service import RPCError

from api.console.customer_page import Problem, acting, missing_page, profile_page
from api.console.customer_view import may
from api.console.session import Checked, Console, store_of
from api.routes.customers import change_tags, record_consent, refuse_automated_marketing
from api.routes.enrollments import cancel as cancel_enrollment
from api.routes.enrollments import enroll as enroll_in
from api.schemas.common import CustomerIdentities
from api.schemas.customers import ConsentCreate, TagUpdate
from api.schemas.enrollments import CancelRequest, EnrollmentCreate
from engine.dispatch.dispatcher import Dispatcher
from engine.errors import CarepathError, JourneyClosed, NotFound, TemplateError
from engine.models.changes import ChangeAction, NewChange, SubjectKind
from engine.store.records import Scope

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Did:
    """What an action did: the ``done`` code the page shows and, when it changed
    something, the change log's line for it (``None``: nothing changed)."""

    done: str
    action: ChangeAction | None = None
    subject_kind: SubjectKind = "customer"
    subject_id: str | None = None
    detail: dict[str, Any] = dataclass_field(default_factory=dict)


#: An action: what it did.
Action = Callable[[], Awaitable[Did]]


def dispatcher_of(request: Request) -> Dispatcher:
    """The dispatcher the app was created with."""
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


async def field(request: Request, name: str) -> str:
    """A form field's text, trimmed ("" when missing)."""
    value = (await request.form()).get(name)
    return value.strip() if isinstance(value, str) else ""


async def act(
    request: Request, console: Console, customer_id: str, scope: Scope, action: Action
) -> Response:
    """Run ``action`` for a customer the user may see, if their scope allows it; what
    it changed goes in the change log with the user as its actor."""
    try:
        seen = await run_in_threadpool(console.caller.customer, customer_id)
    except NotFound:
        return missing_page(request, console, customer_id)
    if not may(console, scope):
        return await profile_page(request, console, customer_id, problem=Problem("not_allowed"))
    try:
        done = await action()
    except ValidationError as exc:
        problem = Problem("invalid", "; ".join(str(e["msg"]) for e in exc.errors()))
    except JourneyClosed as exc:
        problem = Problem("closed", str(exc))
    except NotFound as exc:
        problem = Problem("not_found", str(exc))
    except HTTPException as exc:  # enroll: 409 not_eligible / not_again
        code = str(exc.detail).split(":", 1)[0]
        problem = Problem(code if code in ("not_eligible", "not_again") else "refused", exc.detail)
    except RPCError as exc:
        problem = Problem("unavailable", str(exc))
    except TemplateError as exc:  # the journey's key or entry needs a context value
        problem = Problem("needs_context", str(exc))
    except CarepathError as exc:  # any other refusal the API answers as a problem
        problem = Problem("refused", str(exc))
    else:
        if done.action is not None:
            await run_in_threadpool(_log, console, seen, done)
        return RedirectResponse(f"/customers/{customer_id}?done={done.done}", 303)
    return await profile_page(request, console, customer_id, problem=problem)


def _log(console: Console, customer_id: str, did: Did) -> None:
    assert did.action is not None
    console.caller.store.record_change(
        NewChange(
            at=datetime.now(UTC),
            actor=f"console:{console.user.username}",
            action=did.action,
            subject_kind=did.subject_kind,
            subject_id=did.subject_id or customer_id,
            customer_id=customer_id,
            detail=did.detail,
        )
    )


@router.post("/customers/{customer_id}/tags")
async def add_tag(request: Request, customer_id: str, console: Checked) -> Response:
    """Add the tag of the form (``POST /v1/customers/{id}/tags``, ``add``)."""
    tag = await field(request, "tag")
    return await act(
        request, console, customer_id, "admin", lambda: _tags(request, console, customer_id, tag)
    )


@router.post("/customers/{customer_id}/tags/remove")
async def remove_tag(request: Request, customer_id: str, console: Checked) -> Response:
    """Remove the tag of the form (``POST /v1/customers/{id}/tags``, ``remove``)."""
    tag = await field(request, "tag")
    return await act(
        request,
        console,
        customer_id,
        "admin",
        lambda: _tags(request, console, customer_id, tag, remove=True),
    )


async def _tags(
    request: Request, console: Console, customer_id: str, tag: str, *, remove: bool = False
) -> Did:
    body = TagUpdate(remove=[tag]) if remove else TagUpdate(add=[tag])
    result = await change_tags(
        customer_id,
        body,
        acting(console),
        store_of(request),
        dispatcher_of(request),
        Response(),
    )
    if not result.changes:
        return Did("tag_unchanged")
    if remove:
        return Did("tag_removed", "customer.untagged", detail={"tag": tag})
    return Did("tag_added", "customer.tagged", detail={"tag": tag})


@router.post("/customers/{customer_id}/consents")
async def add_consent(request: Request, customer_id: str, console: Checked) -> Response:
    """Record a consent given or withdrawn (``POST /v1/customers/{id}/consents``)."""
    purpose, channel = await field(request, "purpose"), await field(request, "channel")
    granted = await field(request, "granted")

    async def record() -> Did:
        body = ConsentCreate(purpose=purpose, channel=channel or None, granted=granted == "true")
        caller, store = acting(console), store_of(request)
        await record_consent(customer_id, body, caller, store, dispatcher_of(request))
        detail = {"purpose": body.purpose, "channel": body.channel, "granted": body.granted}
        return Did("consent_recorded", "customer.consent", detail=detail)

    return await act(request, console, customer_id, "admin", record)


@router.post("/customers/{customer_id}/refusal")
async def refuse(request: Request, customer_id: str, console: Checked) -> Response:
    """Record a refusal of automated marketing
    (``POST /v1/customers/{id}/refuse-automated-marketing``: staff may)."""

    async def record() -> Did:
        caller, store = acting(console), store_of(request)
        await run_in_threadpool(refuse_automated_marketing, customer_id, caller, store)
        detail = {"purpose": "automated_marketing", "granted": False}
        return Did("refusal_recorded", "customer.consent", detail=detail)

    return await act(request, console, customer_id, "staff", record)


@router.post("/customers/{customer_id}/enrollments")
async def enroll(request: Request, customer_id: str, console: Checked) -> Response:
    """Enroll in the journey of the form (``POST /v1/journeys/{id}/enrollments``)."""
    journey_id = await field(request, "journey_id")

    async def start() -> Did:
        body = EnrollmentCreate(customer=CustomerIdentities(customer_id=customer_id))
        answer = Response()
        result = await enroll_in(journey_id, body, answer, acting(console), dispatcher_of(request))
        if result.status == "already_active":
            return Did("already_enrolled")
        detail = {"journey_id": journey_id, "enrollment_id": result.enrollment_id}
        return Did("enrolled", "customer.enrolled", "enrollment", result.enrollment_id, detail)

    return await act(request, console, customer_id, "admin", start)


@router.post("/customers/{customer_id}/enrollments/{enrollment_id}/cancel")
async def cancel(
    request: Request, customer_id: str, enrollment_id: str, console: Checked
) -> Response:
    """Cancel one of the customer's enrollments (``POST /v1/enrollments/{id}/cancel``)."""

    async def stop() -> Did:
        caller = acting(console)
        record = await run_in_threadpool(caller.enrollment, enrollment_id)
        if record.customer_id != customer_id:
            raise NotFound(f"no enrollment {enrollment_id!r} of {customer_id!r}")
        reason = CancelRequest(reason=f"cancelled by {caller.source}")
        result = await cancel_enrollment(enrollment_id, caller, dispatcher_of(request), reason)
        if not (result.signalled or result.dispatch_pending):
            return Did("already_ended")
        detail = {"journey_id": record.journey_id, "reason": reason.reason}
        return Did("cancelled", "enrollment.cancelled", "enrollment", enrollment_id, detail)

    return await act(request, console, customer_id, "admin", stop)
