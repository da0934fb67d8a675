"""分群, the segments at ``/segments``, for admins and operators (staff get a 403 page).

- ``/segments``: every deployed segment with its name, refresh, size now and when it
  was deployed, as ``GET /v1/segments`` answers;
- ``/segments/{id}``: its rule (YAML), its size and its members a page at a time
  (``?cursor=``, as the API pages them), each linking to the customer;
- ``/segments/{id}/export``: for admins only, the CSV ``GET
  /v1/segments/{id}/members?format=csv`` streams, recorded in the change log as
  ``segment.exported`` with the members counted as it starts. Operators are refused
  with a 403 page and never see the link.

The data comes from ``segment_view`` (the API's own route functions). A segment that is
not deployed is a 404 page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from api.console.customer_page import clock
from api.console.segment_view import may_export, may_view, segment_page, segments
from api.console.session import Console, SignedIn
from api.console.templating import render
from api.routes.segments import get_segment, list_members
from engine.errors import NotFound
from engine.models.changes import NewChange

router = APIRouter(include_in_schema=False)

CursorText = Annotated[str | None, Query(max_length=128)]


@router.get("/segments", response_class=HTMLResponse)
async def segment_list(request: Request, console: SignedIn) -> Response:
    """Every deployed segment with its size now."""
    if not may_view(console.user.role):
        return _forbidden(request, console, "view")
    found = await run_in_threadpool(segments, console.caller)
    context = {"console": console, "segments": found, "when": clock(request)}
    return render(request, "segments.html", context)


@router.get("/segments/{segment_id}", response_class=HTMLResponse)
async def segment_detail(
    request: Request, console: SignedIn, segment_id: str, cursor: CursorText = None
) -> Response:
    """A segment's rule, size and a page of its members."""
    if not may_view(console.user.role):
        return _forbidden(request, console, "view")
    try:
        page = await run_in_threadpool(segment_page, console.caller, segment_id, cursor or None)
    except NotFound:
        return _missing(request, console)
    context = {
        "console": console,
        "page": page,
        "may_export": may_export(console.user.role),
        "when": clock(request),
    }
    return render(request, "segment_page.html", context)


@router.get("/segments/{segment_id}/export")
async def export(request: Request, console: SignedIn, segment_id: str) -> Response:
    """Every member as CSV, the API's own file (admins only)."""
    if not may_export(console.user.role):
        reason = "export" if may_view(console.user.role) else "view"
        return _forbidden(request, console, reason)
    caller = console.caller

    def started() -> Response:
        size = get_segment(segment_id, caller, caller.store).size  # 404 before streaming
        answer = list_members(segment_id, caller, caller.store, format="csv")
        caller.store.record_change(
            NewChange(
                at=datetime.now(UTC),
                actor=f"console:{console.user.username}",
                action="segment.exported",
                subject_kind="segment",
                subject_id=segment_id,
                detail={"rows": size, "format": "csv"},
            )
        )
        assert isinstance(answer, Response)
        return answer

    try:
        return await run_in_threadpool(started)
    except NotFound:
        return _missing(request, console)


def _forbidden(request: Request, console: Console, reason: str) -> HTMLResponse:
    """403: staff may not see segments; operators may not export them."""
    context = {"console": console, "reason": reason}
    return render(request, "segments_forbidden.html", context, status_code=403)


def _missing(request: Request, console: Console) -> HTMLResponse:
    """404: no segment of that id is deployed."""
    return render(request, "segment_missing.html", {"console": console}, status_code=404)


__all__ = ["router"]
