"""``POST /v1/reports/funnel``: customers reaching each step of a funnel, overall and
per group. A POST, because steps with their conditions do not fit a query string; the
scope (``from``, ``to``, ``tz``, ``clinic_id``) comes in the body, read by the same
rule as every report's (:func:`api.routes.reports.scope.make_scope`)."""

from __future__ import annotations

import asyncio
import datetime as dt

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ConfigDict, Field

from api.deps import SettingsDep, Staff, StoreDep
from api.errors import problem_responses
from api.routes.reports.csv import CSV_RESPONSE, Format, csv_response
from api.routes.reports.scope import make_scope
from engine.models.reports.funnel import FunnelReport, FunnelRequest

router = APIRouter()


class FunnelBody(FunnelRequest):
    """The funnel asked for and the scope it is counted in."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "steps": [
                        {"event": "content.viewed"},
                        {"event": "page.viewed", "where": {"page": "mall"}},
                        {"event": "appointment.booked"},
                        {"event": "appointment.paid"},
                    ],
                    "window": "60d",
                    "from": "2026-03-01",
                    "to": "2026-04-01",
                    "by": "event.content_id",
                }
            ]
        },
    )

    start: dt.date = Field(
        alias="from", description="the first local day customers may enter (YYYY-MM-DD)"
    )
    end: dt.date = Field(
        alias="to", description="the day after the range (half-open: from <= day < to)"
    )
    tz: str | None = Field(
        None,
        max_length=64,
        description="the timezone days are taken in (default: the workspace's, Asia/Shanghai)",
    )
    clinic_id: str | None = Field(
        None,
        max_length=128,
        pattern=r"^[^\x00]*$",
        description="only customers of this clinic (their clinic_id)",
    )


@router.post(
    "/funnel",
    response_model=FunnelReport,
    responses={**CSV_RESPONSE, **problem_responses(422)},
)
async def funnel(
    body: FunnelBody,
    caller: Staff,
    store: StoreDep,
    settings: SettingsDep,
    format: Format = "json",
) -> FunnelReport | Response:
    """Customers who entered at their first step-1 event in the range and reached each
    later step in order within the window, with conversion and median time per step."""
    scope = await make_scope(
        caller, store, settings, body.start, body.end, body.tz, body.clinic_id, "body"
    )
    request = FunnelRequest(steps=body.steps, window=body.window, by=body.by)
    report = await asyncio.to_thread(store.funnel_report, scope, request)
    if format == "csv":
        return csv_response(report.lines(), f"funnel-{scope.start}-{scope.end}")
    return report
