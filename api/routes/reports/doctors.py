"""``GET /v1/reports/doctors``: views, consultations, appointments, revenue and new
customers per doctor."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import StoreDep
from api.errors import problem_responses
from api.routes.reports.csv import CSV_RESPONSE, Format, csv_response
from api.routes.reports.scope import ScopeDep
from engine.models.reports.doctors import DoctorsReport

router = APIRouter()


@router.get(
    "/doctors",
    response_model=DoctorsReport,
    responses={**CSV_RESPONSE, **problem_responses(422)},
)
async def doctors(
    scope: ScopeDep, store: StoreDep, format: Format = "json"
) -> DoctorsReport | Response:
    """Per doctor, in the range: page and content views, consultations, bookings, the
    payments, cancellations and refunds of the appointments booked with them, revenue
    (paid minus refunded) and the new customers their first touch names."""
    report = await asyncio.to_thread(store.doctors_report, scope)
    if format == "csv":
        return csv_response(report.rows, f"doctors-{scope.start}-{scope.end}")
    return report
