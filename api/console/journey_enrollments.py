"""A journey's enrollments at ``/journeys/{id}/enrollments`` and one enrollment's trace
at ``/journeys/{id}/enrollments/{enrollment id}``.

- The list: filtered by status, current step, entry day (the chain's timezone) and
  split variant, 50 a page, newest first, each with its current step (where Temporal's
  visibility says a running one is, else its last stored step) and a link to its
  timeline. Staff see only their clinics' customers: the store is asked with the
  caller's clinics, as the reports and metrics routes ask it.
- The timeline: read as ``GET /v1/enrollments/{id}`` reads it (``caller.enrollment``,
  then ``dispatcher.live_trace``), so another clinic's enrollment is the 404 page
  exactly as it is a 404 of the API. Times are in the customer's timezone, else the
  one the enrollment's version was deployed with.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.console.journey_enrollment_view import (
    PAGE_SIZE,
    STATUSES,
    filters_of,
    steps_of,
    timeline,
    variants_of,
)
from api.console.journey_view import info_of
from api.console.session import Console, SignedIn, settings_of, store_of
from api.console.templating import render
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.visibility import running_steps
from engine.errors import NotFound

router = APIRouter(include_in_schema=False)


def _dispatcher(request: Request) -> Dispatcher:
    """The dispatcher the app was created with."""
    return cast(Dispatcher, request.app.state.dispatcher)


def _stamp(zone: ZoneInfo) -> Callable[[datetime], str]:
    """How these pages write a moment in ``zone``."""

    def when(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    return when


@router.get("/journeys/{journey_id}/enrollments", response_class=HTMLResponse)
async def enrollments_page(request: Request, console: SignedIn, journey_id: str) -> Response:
    """The journey's enrollments, filtered and paged, each linking to its timeline."""
    store, caller = store_of(request), console.caller
    try:
        info = await asyncio.to_thread(info_of, store, journey_id)
    except NotFound:
        return _missing(request, console)
    bundles = await asyncio.to_thread(
        lambda: [store.get_bundle(journey_id, v.version) for v in info.versions]
    )
    steps, variants = steps_of(bundles), variants_of(bundles)
    params = {k: v for k, v in request.query_params.items() if len(v) <= 128}
    filters = filters_of(params, steps, variants)
    zone = ZoneInfo(settings_of(request).compliance.timezone)
    since, until = filters.window(zone)
    running = await running_steps(_dispatcher(request).client, journey_id)
    found = await asyncio.to_thread(
        lambda: store.journey_enrollments(
            journey_id,
            status=filters.status,
            step=filters.step,
            variant=filters.variant,
            since=since,
            until=until,
            clinics=caller.clinics,
            running_at=running,
            offset=filters.offset,
            limit=PAGE_SIZE + 1,
        )
    )
    context = {
        "console": console,
        "info": info,
        "filters": filters,
        "statuses": STATUSES,
        "steps": steps,
        "variants": variants,
        "rows": found[:PAGE_SIZE],
        "more": len(found) > PAGE_SIZE,
        "live": running is not None,
        "when": _stamp(zone),
        "zone": str(zone),
    }
    return render(request, "journey_enrollments.html", context)


@router.get("/journeys/{journey_id}/enrollments/{enrollment_id}", response_class=HTMLResponse)
async def enrollment_page(
    request: Request, console: SignedIn, journey_id: str, enrollment_id: str
) -> Response:
    """One enrollment's trace as a timeline (404 for one the user may not see)."""
    store, caller = store_of(request), console.caller
    try:
        record = await asyncio.to_thread(caller.enrollment, enrollment_id)
        if record.journey_id != journey_id:
            raise NotFound(f"no enrollment {enrollment_id!r} in journey {journey_id!r}")
        info = await asyncio.to_thread(info_of, store, journey_id)
        bundle = await asyncio.to_thread(store.get_bundle, journey_id, record.version)
    except NotFound:
        return render(request, "enrollment_missing.html", {"console": console}, status_code=404)
    trace = await _dispatcher(request).live_trace(enrollment_id)
    zone = await asyncio.to_thread(_zone, request, record.customer_id, bundle.timezone)
    context = {
        "console": console,
        "info": info,
        "record": record,
        "moments": timeline(record, trace),
        "when": _stamp(zone),
        "zone": str(zone),
    }
    return render(request, "enrollment.html", context)


def _zone(request: Request, customer_id: str, deployed: str) -> ZoneInfo:
    """The customer's timezone, else the version's, else the chain's."""
    try:
        own = store_of(request).get_customer(customer_id).timezone
    except NotFound:
        own = None
    for name in (own, deployed):
        try:
            if name:
                return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo(settings_of(request).compliance.timezone)


def _missing(request: Request, console: Console) -> HTMLResponse:
    """404: no journey at this address."""
    return render(request, "journey_missing.html", {"console": console}, status_code=404)


__all__ = ["router"]
