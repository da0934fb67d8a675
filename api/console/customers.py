"""客户, the customers pages: ``/customers`` (search by phone or id, results as a
table) and ``/customers/{id}`` (the profile: identities, attributes, tags, consents,
guardians, touches and first source, the event timeline, enrollments and, for users
who may read it, the audit trail), with the actions of ``customer_actions``.

Everything is read through the API's own route functions with the user's ``Caller``
(``customer_view``), so a staff user sees only their clinics' customers, exactly as
a staff key does: another clinic's customer is the 404 page. Staff see phone numbers
masked. The timeline pages work without JavaScript and, with htmx, swap only
``#timeline``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.console import customer_actions
from api.console.customer_page import page_number, profile_page
from api.console.customer_view import search
from api.console.session import SignedIn, store_of
from api.console.templating import render

router = APIRouter(include_in_schema=False)
router.include_router(customer_actions.router)

SearchText = Annotated[str | None, Query(alias="q", max_length=128)]
PageText = Annotated[str | None, Query(max_length=8)]
DoneText = Annotated[str | None, Query(max_length=32)]


@router.get("/customers")
async def customers(request: Request, console: SignedIn, text: SearchText = None) -> Response:
    """The search form and, once asked, the customers it finds."""
    query = (text or "").strip()
    found = await run_in_threadpool(search, console, store_of(request), query) if query else []
    context = {"console": console, "query": query, "found": found}
    return render(request, "customers.html", context)


@router.get("/customers/{customer_id}")
async def customer(
    request: Request,
    customer_id: str,
    console: SignedIn,
    page: PageText = None,
    done: DoneText = None,
) -> Response:
    """A customer's profile page (404 for one the user may not see)."""
    return await profile_page(request, console, customer_id, page=page_number(page), notice=done)
