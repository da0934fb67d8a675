"""The clinic filter of the dashboard and the report pages: which clinics a user may
choose."""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request

from api.console.session import Console, store_of


async def clinic_choices(request: Request, console: Console, chosen: str | None) -> list[str]:
    """The clinics the filter offers: a staff user's own; for users who see every
    clinic, the clinics the store knows of (``store.known_clinics``: no report is read
    for a list of names) and the one chosen."""
    mine = console.caller.clinics
    if mine is not None:
        return list(mine)
    found = await run_in_threadpool(store_of(request).known_clinics)
    return found if chosen is None or chosen in found else sorted([*found, chosen])
