"""``GET /v1/reports/acquisition``: new customers by first touch, their conversions
within the window, revenue and cost."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import StoreDep
from api.errors import problem_responses
from api.routes.reports.csv import CSV_RESPONSE, Format, csv_response
from api.routes.reports.scope import ByFields, ScopeDep, WindowText, by_fields, window_of
from engine.models.reports.acquisition import AcquisitionReport
from engine.models.reports.scope import DEFAULT_WINDOW

router = APIRouter()


@router.get(
    "/acquisition",
    response_model=AcquisitionReport,
    responses={**CSV_RESPONSE, **problem_responses(422)},
)
async def acquisition(
    scope: ScopeDep,
    store: StoreDep,
    by: ByFields = None,
    window: WindowText = f"{DEFAULT_WINDOW.days}d",
    format: Format = "json",
) -> AcquisitionReport | Response:
    """New customers (first touch in the range) per group of first-touch fields, those
    who converted within the window after it, their revenue, and the group's cost."""
    span = window_of(window)
    report = await asyncio.to_thread(store.acquisition_report, scope, by_fields(by), span)
    if format == "csv":
        return csv_response(report.rows, f"acquisition-{scope.start}-{scope.end}")
    return report
