"""``GET /v1/reports/active``: DAU, WAU, MAU and stickiness per day."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import StoreDep
from api.errors import problem_responses
from api.routes.reports.csv import CSV_RESPONSE, Format, csv_response
from api.routes.reports.scope import ScopeDep
from engine.models.reports.active import ActiveReport

router = APIRouter()


@router.get(
    "/active",
    response_model=ActiveReport,
    responses={**CSV_RESPONSE, **problem_responses(422)},
)
async def active(
    scope: ScopeDep, store: StoreDep, format: Format = "json"
) -> ActiveReport | Response:
    """Customers active each day of the range (any event of theirs but carepath's own
    and those events.yaml excludes), over the last 7 and 30 days, and DAU / MAU."""
    report = await asyncio.to_thread(store.active_report, scope)
    if format == "csv":
        return csv_response(report.rows, f"active-{scope.start}-{scope.end}")
    return report
