"""The clinic filter of the report pages: which clinics a user may choose."""

from __future__ import annotations

import asyncio

from fastapi import Request

from api.console.session import Console, store_of
from engine.models.reports.scope import NONE, ReportScope


async def clinic_choices(
    request: Request, console: Console, scope: ReportScope, chosen: str | None
) -> list[str]:
    """The clinics the filter offers: a staff user's own; for users who see every
    clinic, those with customers in the range and the one chosen."""
    mine = console.caller.clinics
    if mine is not None:
        return list(mine)
    everyone = scope.model_copy(update={"clinics": None})
    report = await asyncio.to_thread(store_of(request).clinics_report, everyone)
    found = [row.clinic_id for row in report.rows if row.clinic_id != NONE]
    return found if chosen is None or chosen in found else sorted([*found, chosen])
