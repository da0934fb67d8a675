"""旅程, the journeys at ``/journeys``: what is deployed and how it is doing, and for
admins and operators the pause and resume the API offers.

- ``/journeys``: each deployed journey, running or paused, its current version, its
  entrants of the last 7 days, those converted, and the enrollments waiting in it now;
- ``/journeys/{id}``: the current version's diagram, laid out from the deployed
  definition (``journey_graph``, ``journey_layout``), each step with its reached and
  waiting-now counts and each edge with how many took it where that is known; the same
  figures as a table; each split's experiment in words. The counts refresh themselves:
  htmx asks ``/journeys/{id}/figures`` every ``POLL_SECONDS`` and swaps the numbers
  out of band, never the drawing;
- ``/journeys/{id}/steps/{step}``: a step's panel (its page without JavaScript);
- ``POST /journeys/{id}/pause`` and ``/resume``: what ``POST /v1/journeys/{id}/pause``
  and ``/resume`` do (``dispatcher.set_paused``, then the schedules), for admins and
  operators; staff are refused (403) and never see the buttons. Each is a line of the
  change log (``journey.paused``/``journey.resumed`` by ``console:<username>``), and
  the journey's page shows its last lines;
- ``journey_versions``: every deployed version with its YAML and a diff of two;
- ``journey_enrollments``: the journey's enrollments, filtered, and each one's timeline.

Figures come from ``journey_view`` (the store's ``journey_counts`` as the metrics
route asks it, staff counting their clinics only). A journey never deployed is a 404.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console import journey_enrollments, journey_versions
from api.console.customer_page import clock
from api.console.journey_graph import diagram_of, exits_of, goal_of
from api.console.journey_view import (
    arm_lines,
    info_of,
    journey_figures,
    journey_rows,
    may_steer,
)
from api.console.session import Checked, Console, SignedIn, store_of
from api.console.templating import render
from api.routes.journeys import set_paused
from engine.dispatch.dispatcher import Dispatcher
from engine.errors import NotFound

router = APIRouter(include_in_schema=False)
router.include_router(journey_versions.router)
router.include_router(journey_enrollments.router)

#: How often a journey's page asks for its figures.
POLL_SECONDS = 5
#: How many of the journey's last changes its page shows.
CHANGES_SHOWN = 10


def _dispatcher(request: Request) -> Dispatcher:
    """The dispatcher the app was created with."""
    return cast(Dispatcher, request.app.state.dispatcher)


def _htmx(request: Request) -> bool:
    """Whether htmx asked for a part of the page (not a history restore)."""
    headers = request.headers
    return headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers


@router.get("/journeys", response_class=HTMLResponse)
async def journey_list(request: Request, console: SignedIn) -> Response:
    """Every deployed journey with its recent figures."""
    rows = await journey_rows(console.caller, store_of(request), _dispatcher(request))
    return render(request, "journeys.html", {"console": console, "rows": rows})


async def _context(
    request: Request, console: Console, journey_id: str, step: str | None
) -> dict[str, Any]:
    """What the journey's page and its parts show (NotFound: no such journey/step)."""
    info, bundle, figures = await journey_figures(
        console.caller, store_of(request), _dispatcher(request), journey_id
    )
    diagram = diagram_of(bundle)
    if step is not None and diagram.node(step) is None:
        raise NotFound(f"journey {journey_id!r} has no step {step!r}")
    return {
        "console": console,
        "info": info,
        "journey": bundle.journey,
        "goal": goal_of(bundle.journey),
        "exits": exits_of(bundle.journey),
        "diagram": diagram,
        "figures": figures,
        "step": step,
        "experiments": [(e, arm_lines(e)) for e in figures.metrics.experiments],
        "may_steer": may_steer(console.user.role),
        "poll_seconds": POLL_SECONDS,
    }


@router.get("/journeys/{journey_id}", response_class=HTMLResponse)
async def journey_page(request: Request, console: SignedIn, journey_id: str) -> Response:
    """A journey's diagram with its figures, its steps' table and its experiments."""
    try:
        context = await _context(request, console, journey_id, None)
    except NotFound:
        return _missing(request, console)
    return render(request, "journey.html", {**context, **await _changes(request, journey_id)})


@router.get("/journeys/{journey_id}/steps/{step}", response_class=HTMLResponse)
async def step_panel(request: Request, console: SignedIn, journey_id: str, step: str) -> Response:
    """A step's figures: the panel alone for htmx, else the journey's page with it open."""
    try:
        context = await _context(request, console, journey_id, step)
    except NotFound:
        return _missing(request, console)
    if _htmx(request):
        return render(request, "journey_step.html", context, headers={"Vary": "HX-Request"})
    context |= await _changes(request, journey_id)
    return render(request, "journey.html", context, headers={"Vary": "HX-Request"})


async def _changes(request: Request, journey_id: str) -> dict[str, Any]:
    """The journey's last lines of the change log, for its page."""
    changes = await asyncio.to_thread(
        lambda: store_of(request).list_changes(
            subject_kind="journey", subject_id=journey_id, limit=CHANGES_SHOWN
        )
    )
    return {"changes": changes, "when": clock(request)}


@router.get("/journeys/{journey_id}/figures", response_class=HTMLResponse)
async def figures(
    request: Request, console: SignedIn, journey_id: str, step: str | None = None
) -> Response:
    """The page's numbers now, each marked to be swapped in place (htmx, out of band);
    the open step's panel too."""
    try:
        context = await _context(request, console, journey_id, step or None)
    except NotFound:
        return _missing(request, console)
    return render(request, "journey_figures.html", context)


async def _set_paused(
    request: Request, console: Console, journey_id: str, paused: bool
) -> Response:
    if not may_steer(console.user.role):
        return render(request, "journey_forbidden.html", {"console": console}, status_code=403)
    store, dispatcher = store_of(request), _dispatcher(request)
    try:
        actor = f"console:{console.user.username}"
        await set_paused(store, dispatcher, journey_id, paused, actor=actor)
    except NotFound:
        return _missing(request, console)
    if _htmx(request):
        info = await asyncio.to_thread(info_of, store, journey_id)
        context = {"console": console, "info": info, "may_steer": True, "changed": True}
        context |= await _changes(request, journey_id)
        return render(request, "journey_status.html", context)
    return RedirectResponse(f"/journeys/{journey_id}", 303)


@router.post("/journeys/{journey_id}/pause", response_class=HTMLResponse)
async def pause(request: Request, console: Checked, journey_id: str) -> Response:
    """Stop enrolling (triggers, schedule and API); running enrollments carry on."""
    return await _set_paused(request, console, journey_id, True)


@router.post("/journeys/{journey_id}/resume", response_class=HTMLResponse)
async def resume(request: Request, console: Checked, journey_id: str) -> Response:
    """Enroll again on triggers, on schedule and through the API."""
    return await _set_paused(request, console, journey_id, False)


def _missing(request: Request, console: Console) -> HTMLResponse:
    """404: no journey (or step) at this address."""
    return render(request, "journey_missing.html", {"console": console}, status_code=404)


__all__ = ["POLL_SECONDS", "router"]
