"""``GET /v1/reports/kpis``: the seed KPIs (流量, 转化率, 有效流量, 客单价, 销售额, 传播率,
流量成本, cost per conversion, ROI) per group of first-touch fields and in total."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import StoreDep
from api.errors import problem_responses
from api.routes.reports.csv import CSV_RESPONSE, Format, csv_response
from api.routes.reports.scope import ByFields, ScopeDep, WindowText, by_fields, window_of
from engine.models.reports.kpis import KpiReport
from engine.models.reports.scope import DEFAULT_WINDOW

router = APIRouter()

#: What the group columns of the CSV's last line, the total, read.
TOTAL = "(total)"


@router.get(
    "/kpis",
    response_model=KpiReport,
    responses={**CSV_RESPONSE, **problem_responses(422)},
)
async def kpis(
    scope: ScopeDep,
    store: StoreDep,
    by: ByFields = None,
    window: WindowText = f"{DEFAULT_WINDOW.days}d",
    format: Format = "json",
) -> KpiReport | Response:
    """The seed KPIs per group of first-touch fields and for the whole range (the CSV's
    last line, its group columns reading "(total)")."""
    span = window_of(window)
    report = await asyncio.to_thread(store.kpi_report, scope, by_fields(by), span)
    if format == "csv":
        total = report.total.model_copy(update=dict.fromkeys(report.by, TOTAL))
        return csv_response([*report.rows, total], f"kpis-{scope.start}-{scope.end}")
    return report
