"""Rendering a customer's profile page (with a notice or a problem from an action), and
the 404 page for a customer the user may not see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from api.console.customer_view import CHANNELS, PURPOSES, may, read_profile
from api.console.session import Console, settings_of, store_of
from api.console.templating import render
from api.deps import Caller
from engine.errors import NotFound

#: What an action reports when it worked (``?done=``): the template words each.
NOTICES = frozenset(
    {
        "tag_added",
        "tag_removed",
        "tag_unchanged",
        "consent_recorded",
        "refusal_recorded",
        "enrolled",
        "already_enrolled",
        "cancelled",
        "already_ended",
    }
)


@dataclass(frozen=True)
class Problem:
    """Why an action did nothing: a code the template words, and the service's detail."""

    code: str
    detail: str = ""


class ConsoleCaller(Caller):
    """The user's ``Caller`` with changes attributed to ``console:<username>`` (the key
    ``principal_of`` gives them is named so), where an API key's are ``api:<name>``."""

    @property
    def source(self) -> str:
        return self.key.name


def acting(console: Console) -> ConsoleCaller:
    """The caller the route functions get for this user's changes."""
    return ConsoleCaller(console.caller.key, console.caller.store)


def page_number(text: str | None) -> int:
    """The timeline page asked for (1 when missing or not a number)."""
    if text is None or not text.isdigit() or len(text) > 4:
        return 1
    return max(1, int(text))


def clock(request: Request) -> Callable[[datetime], str]:
    """How the pages write a moment: local time of the chain (``compliance.timezone``)."""
    zone = ZoneInfo(settings_of(request).compliance.timezone)

    def when(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    return when


def missing_page(request: Request, console: Console, customer_id: str) -> Response:
    """404: no such customer, or not one of the user's clinics (the same page)."""
    return render(
        request,
        "customer_missing.html",
        {"console": console, "customer_id": customer_id},
        status_code=404,
    )


async def profile_page(
    request: Request,
    console: Console,
    customer_id: str,
    *,
    page: int = 1,
    notice: str | None = None,
    problem: Problem | None = None,
) -> Response:
    """The profile page; a merged id goes to its survivor's page."""
    try:
        profile = await run_in_threadpool(
            read_profile, console, store_of(request), customer_id, page
        )
    except NotFound:
        return missing_page(request, console, customer_id)
    if profile.customer.id != customer_id and problem is None:
        return RedirectResponse(f"/customers/{profile.customer.id}", 303)
    context = {
        "console": console,
        "profile": profile,
        "customer": profile.customer,
        "notice": notice if notice in NOTICES else None,
        "problem": problem,
        "may_change": may(console, "admin"),
        "may_refuse": may(console, "staff"),
        "channels": CHANNELS,
        "purposes": PURPOSES,
        "when": clock(request),
    }
    return render(
        request,
        "customer.html",
        context,
        status_code=422 if problem else 200,
        headers={"Vary": "HX-Request"},
    )
