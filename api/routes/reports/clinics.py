"""``GET /v1/reports/clinics``: new customers and their conversion, followers per
Official Account, bookings, payments and revenue per clinic."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import StoreDep
from api.errors import problem_responses
from api.routes.reports.csv import CSV_RESPONSE, Format, csv_response
from api.routes.reports.scope import ScopeDep
from engine.models.reports.clinics import ClinicsReport

router = APIRouter()


@router.get(
    "/clinics",
    response_model=ClinicsReport,
    responses={**CSV_RESPONSE, **problem_responses(422)},
)
async def clinics(
    scope: ScopeDep, store: StoreDep, format: Format = "json"
) -> ClinicsReport | Response:
    """Per clinic of the customers (their clinic_id), in the range: new customers and how
    many converted within 60 days of their first touch, follows and unfollows per
    Official Account, bookings, payments and revenue (paid minus refunded)."""
    report = await asyncio.to_thread(store.clinics_report, scope)
    if format == "csv":
        return csv_response(report.rows, f"clinics-{scope.start}-{scope.end}")
    return report
