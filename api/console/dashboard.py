"""看板, the dashboard at ``/``: for a date range and a clinic, the seed KPIs beside their
change against the previous range of equal length, the trends per day (new customers,
conversions, active customers), the top sources; and what needs attention now (open
channel circuits, overdue call tasks, parked outbox rows, experiments with a result).

The page itself answers at once: the filters, with the clinics from
``store.known_clinics`` (no report), and one placeholder per part that htmx fills on
load (``hx-trigger="load"``) from its own route, ``/dashboard/{kpis,trends,sources,
attention}``, so each report is asked, and measured, on its own. Without JavaScript
the page offers a link to itself with ``full=1``, which draws every part in the page;
the filter form sends ``full=1`` then too (a hidden field inside ``<noscript>``). With
htmx the form swaps the placeholders only (``HX-Request``) and keeps the URL in step.

The figures are the reports' own (``dashboard_figures``), asked the way the ``/v1``
routes ask them, through the user's ``Caller``: staff users count only their clinics,
by the same check as staff keys.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.console import dashboard_attention as attention
from api.console import dashboard_figures as figures
from api.console.kpi_cards import Period, PeriodProblem, cards, period_of
from api.console.report_cache import cache_of
from api.console.report_filters import clinic_choices
from api.console.session import Console, SignedIn, settings_of, store_of
from api.console.templating import render
from engine.dispatch.dispatcher import Dispatcher
from engine.models.reports.scope import DEFAULT_WINDOW, MAX_DAYS, ReportScope

router = APIRouter(include_in_schema=False)

FromText = Annotated[str | None, Query(alias="from", max_length=32)]
ToText = Annotated[str | None, Query(alias="to", max_length=32)]
ClinicText = Annotated[str | None, Query(alias="clinic_id", max_length=128)]
FullText = Annotated[str | None, Query(alias="full", max_length=8)]
FreshFlag = Annotated[str | None, Query(alias="fresh", max_length=1)]
#: The parts htmx loads, each from ``/dashboard/<part>``, in the page's order, and
#: the template of each.
PARTS = {
    "kpis": "dashboard_cards.html",
    "trends": "dashboard_trends.html",
    "sources": "dashboard_sources.html",
    "attention": "dashboard_attention.html",
}
HEADERS = {"Vary": "HX-Request"}


def is_partial(request: Request) -> bool:
    """Whether htmx asked for a part of the page (not a history restore, which needs
    the whole page)."""
    headers = request.headers
    return headers.get("hx-request") == "true" and "hx-history-restore-request" not in headers


def _filters(
    request: Request,
    first: str | None,
    last: str | None,
    clinic_id: str | None,
    fresh: str | None = None,
) -> dict[str, Any]:
    """The filters as read, for every template of the page; ``fresh``: count the
    figures again rather than show those kept (``report_cache``)."""
    today = dt.datetime.now(ZoneInfo(settings_of(request).compliance.timezone)).date()
    period, problem = period_of(first, last, today)
    clinic = clinic_id or None
    asked = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    if clinic is not None:
        asked["clinic_id"] = clinic
    timezone = ZoneInfo(settings_of(request).compliance.timezone)
    return {
        "fresh": fresh == "1",
        "part_query": urlencode(asked | ({"fresh": "1"} if fresh == "1" else {})),
        "timezone": timezone,
        "period": period,
        "previous": period.previous(),
        "problem": problem,
        "first_text": first if problem else period.first.isoformat(),
        "last_text": last if problem else period.last.isoformat(),
        "clinic_id": clinic,
        "query": urlencode(asked),
        "window_days": DEFAULT_WINDOW.days,
        "max_days": MAX_DAYS,
    }


async def _kpis(request: Request, console: Console, asked: dict[str, Any]) -> dict[str, Any]:
    """The cards: this period's KPI totals against the previous period's."""
    store, settings = store_of(request), settings_of(request)
    period, clinic = cast(Period, asked["period"]), cast(str | None, asked["clinic_id"])
    scope, earlier = await asyncio.gather(
        figures.scope_of(console.caller, store, settings, period, clinic),
        figures.scope_of(console.caller, store, settings, period.previous(), clinic),
    )

    async def count() -> tuple[tuple[Any, bool], tuple[Any, bool]]:
        return await asyncio.gather(
            figures.kpi_total(store, scope), figures.kpi_total(store, earlier)
        )

    key = f"dashboard-kpis|{scope.model_dump_json()}|{earlier.model_dump_json()}"
    ((current, provisional), (before, _)), as_of = await _kept(request, asked, key, count)
    return {"cards": cards(current, before), "provisional": provisional, "as_of": as_of}


async def _trends(request: Request, console: Console, asked: dict[str, Any]) -> dict[str, Any]:
    store, scope = store_of(request), await _scope(request, console, asked)
    trends, as_of = await _kept(
        request,
        asked,
        f"dashboard-trends|{scope.model_dump_json()}",
        lambda: figures.trends(store, scope),
    )
    return {"trends": trends, "trend_keys": figures.TREND_KEYS, "as_of": as_of}


async def _sources(request: Request, console: Console, asked: dict[str, Any]) -> dict[str, Any]:
    store, scope = store_of(request), await _scope(request, console, asked)
    sources, as_of = await _kept(
        request,
        asked,
        f"dashboard-sources|{scope.model_dump_json()}",
        lambda: figures.top_sources(store, scope),
    )
    return {"sources": sources, "as_of": as_of}


async def _scope(request: Request, console: Console, asked: dict[str, Any]) -> ReportScope:
    """The report scope of the asked period and clinic, for this user."""
    period, clinic = cast(Period, asked["period"]), cast(str | None, asked["clinic_id"])
    return await figures.scope_of(
        console.caller, store_of(request), settings_of(request), period, clinic
    )


async def _kept(
    request: Request, asked: dict[str, Any], key: str, count: Callable[[], Awaitable[Any]]
) -> tuple[Any, dt.datetime]:
    """The kept answer for ``key`` (counted now when old or asked ``fresh``), and when
    it was counted, in the chain's time."""
    kept = await cache_of(request).answer(key, count, fresh=asked["fresh"])
    return kept.value, _local(asked, kept.at)


def _local(asked: dict[str, Any], at: dt.datetime) -> dt.datetime:
    """When kept figures were counted, in the chain's time."""
    return at.astimezone(cast(ZoneInfo, asked["timezone"]))


async def _attention(request: Request, console: Console) -> dict[str, Any]:
    """What needs attention now, as this user's role may see it."""
    store, caller = store_of(request), console.caller
    dispatcher = cast(Dispatcher, request.app.state.dispatcher)
    now = dt.datetime.now(dt.UTC)
    operations = attention.sees_operations(console.user.role)
    channels = await run_in_threadpool(attention.channel_alerts, store, now) if operations else None
    parked = await run_in_threadpool(attention.parked_rows, store, now) if operations else None
    overdue = await run_in_threadpool(attention.overdue_tasks, caller, now)
    # Experiment results move slowly and cost a journey's figures each: kept a while,
    # like the reports (circuits, tasks and the outbox are read now).
    kept = await cache_of(request).answer(
        f"dashboard-findings|{caller.clinics}",
        lambda: attention.findings(caller, store, dispatcher),
    )
    found = kept.value
    return {
        "attention": attention.Attention(channels, overdue, parked, found),
        "shown": attention.SHOWN,
    }


@router.get("/", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    console: SignedIn,
    first: FromText = None,
    last: ToText = None,
    clinic_id: ClinicText = None,
    full: FullText = None,
    fresh: FreshFlag = None,
) -> HTMLResponse:
    """The dashboard page with its parts to load, or (for htmx) the parts alone; with
    ``full=1`` (no JavaScript) every part drawn in the page."""
    asked = _filters(request, first, last, clinic_id, fresh)
    context: dict[str, Any] = {"console": console, "full": bool(full), **asked}
    problem = cast(PeriodProblem | None, asked["problem"])
    if full and problem is None:
        kpis, trends, sources, now = await asyncio.gather(
            _kpis(request, console, asked),
            _trends(request, console, asked),
            _sources(request, console, asked),
            _attention(request, console),
        )
        # Each part's "as of" is its own; the page shows the earliest.
        context.update(kpis | trends | sources | now)
        context["as_of"] = min(kpis["as_of"], trends["as_of"], sources["as_of"])
    partial = is_partial(request)
    if not partial:
        context["clinics"] = await clinic_choices(request, console, asked["clinic_id"])
    return render(
        request,
        "dashboard_parts.html" if partial else "dashboard.html",
        context,
        status_code=422 if problem else 200,
        headers=HEADERS,
    )


@router.get("/dashboard/{part}", response_class=HTMLResponse)
async def dashboard_part(
    request: Request,
    console: SignedIn,
    part: str,
    first: FromText = None,
    last: ToText = None,
    clinic_id: ClinicText = None,
    fresh: FreshFlag = None,
) -> HTMLResponse:
    """One part of the dashboard, as htmx loads it into its placeholder."""
    if part not in PARTS:
        raise HTTPException(404)
    asked = _filters(request, first, last, clinic_id, fresh)
    context: dict[str, Any] = {"console": console, **asked}
    if part == "attention":
        context.update(await _attention(request, console))
    elif asked["problem"] is not None:
        return render(request, "dashboard_problem.html", context, status_code=422)
    elif part == "kpis":
        context.update(await _kpis(request, console, asked))
    elif part == "trends":
        context.update(await _trends(request, console, asked))
    else:
        context.update(await _sources(request, console, asked))
    return render(request, PARTS[part], context)
