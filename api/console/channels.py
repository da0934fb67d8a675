"""渠道, the channels at ``/channels``, for admins and operators (staff get a 403 page).

One page (``channel_view``): each provider channel's circuits (its own and its
templates', opened by configuration errors) and its quota window, each with its cause
and since when, as ``GET /v1/channels`` answers; a reset button per channel with
anything open, and per open template circuit, doing what ``POST
/v1/channels/{channel}/reset`` does (``api.routes.channels.reset_channel``: the
circuits say ``console:<username>`` closed them, and ``channel.reset`` is recorded in
the change log as that user); the last resets, who and when; the latest opt-outs
across customers; and the skips by reason of the last 7 days, as the channels report
counts them.

The reset is a form that works without JavaScript (a redirect back to the page) and,
with htmx, swaps the page's board in place. A template that never had a circuit on the
channel is answered 422 with the message on the page.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.console.channel_view import CHANNELS, board, has_open, may_view
from api.console.customer_page import clock
from api.console.report_cache import cache_of
from api.console.session import Checked, Console, SignedIn, settings_of
from api.console.templating import render
from api.routes.channels import reset_channel
from api.schemas.channels import ChannelReset, ProviderChannel
from engine.errors import NotFound
from engine.expressions.clock import utcnow

router = APIRouter(include_in_schema=False)

DoneText = Annotated[str | None, Query(max_length=32)]


@router.get("/channels", response_class=HTMLResponse)
async def channel_page(request: Request, console: SignedIn, done: DoneText = None) -> Response:
    """The circuits, quota windows, resets, opt-outs and skips; ``done`` names the
    channel just reset."""
    if not may_view(console.user.role):
        return _forbidden(request, console)
    return await _page(request, console, done=done if done in CHANNELS else None)


@router.post("/channels/{channel}/reset", response_class=HTMLResponse)
async def reset(request: Request, console: Checked, channel: str) -> Response:
    """Close the channel's circuits and end its quota window, or (``template``) one
    template's circuit; the next send is the probe."""
    if not may_view(console.user.role):
        return _forbidden(request, console)
    if channel not in CHANNELS:
        return _forbidden(request, console, status=404)
    form = await request.form()
    sent = form.get("template")
    try:
        body = ChannelReset(template=sent.strip() or None if isinstance(sent, str) else None)
    except ValidationError:
        return await _page(request, console, problem="bad_template", status=422)
    who = f"console:{console.user.username}"
    try:
        await run_in_threadpool(
            lambda: reset_channel(
                console.caller.store,
                cast(ProviderChannel, channel),  # one of CHANNELS, checked above
                body.template,
                by=who,
                actor=who,
                now=utcnow(),
            )
        )
    except NotFound:
        context = {"problem": "no_circuit", "channel": channel, "template": body.template}
        return await _page(request, console, status=422, **context)
    return RedirectResponse(f"/channels?{urlencode({'done': channel})}", 303)


async def _page(
    request: Request, console: Console, *, status: int = 200, **notes: Any
) -> HTMLResponse:
    settings = settings_of(request)
    today = dt.datetime.now(ZoneInfo(settings.compliance.timezone)).date()
    found = await board(console.caller, settings, today, cache_of(request))
    context = {
        "console": console,
        "board": found,
        "has_open": has_open,
        "when": clock(request),
        "done": None,
        "problem": None,
        "channel": None,
        "template": None,
        **notes,
    }
    return render(request, "channels.html", context, status_code=status)


def _forbidden(request: Request, console: Console, *, status: int = 403) -> HTMLResponse:
    """403: staff may not see or reset channels (404: no such channel)."""
    context = {"console": console, "status": status}
    return render(request, "channels_refused.html", context, status_code=status)


__all__ = ["router"]
