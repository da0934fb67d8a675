"""看板, the dashboard at ``/``: the seed KPIs of a date range and a clinic, each beside
its change against the previous range of equal length.

The figures are the total row of the report ``GET /v1/reports/kpis`` answers, asked
the same way (``make_scope`` with the user's ``Caller``, ``store.kpi_report`` with the
default window), so staff users count only their clinics, by the same check as staff
keys. The filter form works without JavaScript (a GET of the whole page); with htmx it
swaps only the cards (``HX-Request``) and keeps the URL in step.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.console.kpi_cards import Period, cards, period_of
from api.console.session import Console, SignedIn, settings_of, store_of
from api.console.templating import render
from api.routes.reports.scope import by_fields, make_scope
from engine.models.reports.kpis import KpiRow
from engine.models.reports.scope import DEFAULT_WINDOW, MAX_DAYS, NONE, ReportScope

router = APIRouter(include_in_schema=False)

FromText = Annotated[str | None, Query(alias="from", max_length=32)]
ToText = Annotated[str | None, Query(alias="to", max_length=32)]
ClinicText = Annotated[str | None, Query(alias="clinic_id", max_length=128)]


def is_partial(request: Request) -> bool:
    """Whether htmx asked for the cards only (not a history restore, which needs the
    whole page)."""
    headers = request.headers
    return headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    console: SignedIn,
    first: FromText = None,
    last: ToText = None,
    clinic_id: ClinicText = None,
) -> HTMLResponse:
    """The dashboard page, or (for htmx) its cards."""
    settings = settings_of(request)
    today = dt.datetime.now(ZoneInfo(settings.compliance.timezone)).date()
    period, problem = period_of(first, last, today)
    clinic = clinic_id or None
    context: dict[str, Any] = {
        "console": console,
        "period": period,
        "previous": period.previous(),
        "problem": problem,
        "first_text": first if problem else period.first.isoformat(),
        "last_text": last if problem else period.last.isoformat(),
        "clinic_id": clinic,
        "window_days": DEFAULT_WINDOW.days,
        "max_days": MAX_DAYS,
    }
    scope = await _scope(request, console, period, clinic)
    if problem is None:
        earlier = await _scope(request, console, period.previous(), clinic)
        (current, provisional), (before, _) = await asyncio.gather(
            _total(request, scope), _total(request, earlier)
        )
        context.update(cards=cards(current, before), provisional=provisional)
    partial = is_partial(request)
    if not partial:
        context["clinics"] = await _clinic_choices(request, console, scope, clinic)
    return render(
        request,
        "dashboard_cards.html" if partial else "dashboard.html",
        context,
        status_code=422 if problem else 200,
        headers={"Vary": "HX-Request"},
    )


async def _scope(
    request: Request, console: Console, period: Period, clinic: str | None
) -> ReportScope:
    """The report scope of ``period`` and ``clinic``, narrowed to the user's clinics."""
    store, settings = store_of(request), settings_of(request)
    return await make_scope(console.caller, store, settings, period.first, period.end, None, clinic)


async def _total(request: Request, scope: ReportScope) -> tuple[KpiRow, bool]:
    """The KPI report's total row for ``scope``, and whether it is provisional."""
    store = store_of(request)
    report = await asyncio.to_thread(store.kpi_report, scope, by_fields(None), DEFAULT_WINDOW)
    return report.total, report.provisional


async def _clinic_choices(
    request: Request, console: Console, scope: ReportScope, chosen: str | None
) -> list[str]:
    """The clinics the filter offers: a staff user's own; for users who see every
    clinic, those with customers in the range (the clinics report's rows) and the one
    chosen."""
    mine = console.caller.clinics
    if mine is not None:
        return list(mine)
    everyone = scope.model_copy(update={"clinics": None})
    report = await asyncio.to_thread(store_of(request).clinics_report, everyone)
    found = [row.clinic_id for row in report.rows if row.clinic_id != NONE]
    return found if chosen is None or chosen in found else sorted([*found, chosen])
