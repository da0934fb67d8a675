"""工作台, the call tasks at ``/tasks``: what optometrists and the front desk work
between patients, on a phone.

The handoff tasks of the user's clinics (every clinic for admins and operators), the
overdue first, each with its time left, call script and customer; the routes do what
``api/routes/handoffs.py`` does, through the user's ``Caller``: the list is
``list_open_tasks`` with the caller's clinics, a claim is ``store.claim_task`` after
``caller.task`` (a task claimed by someone else is refused, as the API answers 409),
an outcome goes through ``dispatcher.complete_handoff`` with the API's own checks (the
task's clinic, the step's outcomes), which resumes the waiting enrollment. A task the
user may not see answers 404, as if it did not exist.

The list refreshes itself: htmx asks for it every ``POLL_SECONDS`` with the
fingerprint of what the page shows, and the answer is 204 (nothing swapped, the user's
place kept) until something changed. Claim and outcome buttons are forms that work
without JavaScript (a redirect to the task) and, with htmx, swap only their card.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import ValidationError

from api.console.i18n import language_of
from api.console.session import Checked, Console, SignedIn, settings_of, store_of
from api.console.task_cards import digest
from api.console.task_view import TaskCard, card_of, open_cards
from api.console.templating import environment, render
from api.routes.handoffs import check_outcome
from api.schemas.handoffs import HandoffComplete
from engine.dispatch.dispatcher import Dispatcher
from engine.errors import Conflict, NotFound
from engine.models.changes import ChangeAction, NewChange
from engine.store.records import HandoffTask

router = APIRouter(include_in_schema=False)

#: How often the open list asks for changes.
POLL_SECONDS = 10

QueueText = Annotated[str | None, Query(max_length=128)]
SeenText = Annotated[str | None, Query(max_length=64)]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _timezone(request: Request) -> str:
    return settings_of(request).compliance.timezone


def _htmx(request: Request) -> bool:
    """Whether htmx asked for a part of the page (not a history restore)."""
    headers = request.headers
    return headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers


def _text(request: Request, template: str, context: dict[str, Any]) -> Markup:
    """``template`` rendered in the request's language, to put inside another."""
    env = environment(language_of(request))
    return Markup(env.get_template(template).render({"path": request.url.path, **context}))


@router.get("/tasks", response_class=HTMLResponse)
async def task_list(
    request: Request, console: SignedIn, queue: QueueText = None, seen: SeenText = None
) -> Response:
    """The open call tasks; for htmx, the list alone (204 when it has not changed)."""
    chosen = queue or None
    cards, queues = await run_in_threadpool(
        open_cards, console.caller, chosen, _now(), _timezone(request)
    )
    context: dict[str, Any] = {"console": console, "cards": cards, "queue": chosen}
    items = _text(request, "tasks_items.html", context)
    fingerprint = digest(items)
    if _htmx(request) and seen == fingerprint:
        return Response(status_code=204, headers={"Vary": "HX-Request"})
    context.update(items=items, fingerprint=fingerprint, queues=queues, poll_seconds=POLL_SECONDS)
    template = "tasks_list.html" if _htmx(request) else "tasks.html"
    return render(request, template, context, headers={"Vary": "HX-Request"})


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
async def task_page(request: Request, console: SignedIn, task_id: str) -> Response:
    """One task (a link to it can be shared with a colleague of the same clinic)."""
    try:
        task = await run_in_threadpool(console.caller.task, task_id)
    except NotFound:
        return _missing(request, console)
    card = await run_in_threadpool(card_of, console.caller, task, _now(), _timezone(request))
    return _answer(request, console, card)


@router.post("/tasks/{task_id}/claim", response_class=HTMLResponse)
async def claim(request: Request, console: Checked, task_id: str) -> Response:
    """Take a task, so colleagues see someone is on it; its phone shows in full."""
    caller = console.caller

    def claimed() -> tuple[HandoffTask, str | None]:
        caller.task(task_id)  # 404 outside the user's clinics, as the API
        try:
            task = caller.store.claim_task(task_id, caller.source)
        except Conflict:  # someone else was first: show them the task as it is now
            return caller.store.get_task(task_id), "claimed_by_other"
        _log(console, task, "task.claimed", {"journey_id": task.journey_id, "step": task.step})
        if console.user.role == "staff":  # from now on the card shows the phone in full
            _log(console, task, "phone.revealed", {"task_id": task.id})
        return task, None

    try:
        task, problem = await run_in_threadpool(claimed)
    except NotFound:
        return _missing(request, console)
    card = await run_in_threadpool(
        lambda: card_of(caller, task, _now(), _timezone(request), problem=problem)
    )
    return _answer(request, console, card, status=409 if problem else 303, just_claimed=True)


@router.post("/tasks/{task_id}/complete", response_class=HTMLResponse)
async def complete(request: Request, console: Checked, task_id: str) -> Response:
    """Report the call's outcome; the enrollment continues at the step it names."""
    caller, store = console.caller, store_of(request)
    form = await request.form()
    outcome, note = form.get("outcome"), form.get("note")
    problem, pending = None, False
    try:
        body = HandoffComplete(
            outcome=outcome if isinstance(outcome, str) else "",
            note=(note.strip() or None) if isinstance(note, str) else None,
        )

        def check(task: HandoffTask) -> None:
            caller.check_task(task)
            check_outcome(store, task, body.outcome)

        task, pending = await _dispatcher(request).complete_handoff(
            task_id, body.outcome, body.note, check
        )
    except NotFound:
        return _missing(request, console)
    except (ValidationError, RequestValidationError):
        problem = "bad_outcome"
    except Conflict:
        problem = "already_done"
    if problem is not None:
        task = await run_in_threadpool(caller.task, task_id)
    else:
        detail = {"journey_id": task.journey_id, "step": task.step, "outcome": body.outcome}
        await run_in_threadpool(_log, console, task, "task.completed", detail)
    card = await run_in_threadpool(
        lambda: card_of(caller, task, _now(), _timezone(request), problem=problem, pending=pending)
    )
    status = {None: 303, "bad_outcome": 422, "already_done": 409}[problem]
    return _answer(request, console, card, status=status)


def _log(console: Console, task: HandoffTask, action: ChangeAction, detail: dict[str, Any]) -> None:
    """The change log's line for what the user did with the task."""
    console.caller.store.record_change(
        NewChange(
            at=dt.datetime.now(dt.UTC),
            actor=f"console:{console.user.username}",
            action=action,
            subject_kind="task",
            subject_id=task.id,
            customer_id=task.customer_id,
            detail=detail,
        )
    )


def _dispatcher(request: Request) -> Dispatcher:
    """The dispatcher the app was created with."""
    return cast(Dispatcher, request.app.state.dispatcher)


def _answer(
    request: Request,
    console: Console,
    card: TaskCard,
    *,
    status: int = 200,
    just_claimed: bool = False,
) -> Response:
    """A task's card: for htmx the card alone (always swapped, its problem on it),
    otherwise the task's page, or after a change that worked a redirect to it."""
    context: dict[str, Any] = {"console": console, "card": card, "just_claimed": just_claimed}
    if _htmx(request):
        return render(request, "tasks_card.html", context)
    if status == 303:
        return RedirectResponse(f"/tasks/{card.task.id}", 303)
    return render(request, "tasks_task.html", context, status_code=status)


def _missing(request: Request, console: Console) -> HTMLResponse:
    """404, exactly as for an id that names nothing: the user may not see it."""
    return render(request, "tasks_missing.html", {"console": console}, status_code=404)


__all__ = ["POLL_SECONDS", "router"]
