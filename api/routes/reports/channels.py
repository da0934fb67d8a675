"""``GET /v1/reports/channels``: what each channel did in the range."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import StoreDep
from api.errors import problem_responses
from api.routes.reports.csv import CSV_RESPONSE, Format, csv_response
from api.routes.reports.scope import ScopeDep
from engine.models.reports.channels import ChannelsReport

router = APIRouter()


@router.get(
    "/channels",
    response_model=ChannelsReport,
    responses={**CSV_RESPONSE, **problem_responses(422)},
)
async def channels(
    scope: ScopeDep, store: StoreDep, format: Format = "json"
) -> ChannelsReport | Response:
    """Per channel, for the tries made in the range: attempted, delivered, failed,
    skipped by reason, fallbacks, receipt latency (p50, p90), and opt-outs."""
    report = await asyncio.to_thread(store.channels_report, scope)
    if format == "csv":
        return csv_response(report.rows, f"channels-{scope.start}-{scope.end}")
    return report
