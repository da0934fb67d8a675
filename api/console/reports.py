"""报表, the reports at ``/reports``: an index, then one page per report of the contract
(section 3) with its filters, a chart (ECharts, drawn by ``static/reports.js`` from the
page's JSON block) and a table of the same figures, and its CSV at
``/reports/<name>.csv``.

Each page asks the API's own report route (``api.routes.reports.*``) with the scope
``make_scope`` makes for the user's ``Caller``, so a staff user counts only their
clinics, by the same check as a staff key, and the CSV is the very CSV the API answers.
The funnel builder is ``report_funnel``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from api.console import report_funnel
from api.console.kpi_cards import Period, period_of
from api.console.report_cache import Kept, cache_of
from api.console.report_filters import clinic_choices
from api.console.report_specs import NAMES, SPECS, Spec, table_of
from api.console.session import Console, SignedIn, settings_of, store_of
from api.console.templating import render
from api.routes.reports import acquisition, active, channels, clinics, doctors, kpis
from api.routes.reports.scope import make_scope, window_of
from engine.models.reports.scope import (
    DEFAULT_WINDOW,
    FIRST_TOUCH_FIELDS,
    MAX_DAYS,
    FirstTouchField,
    ReportScope,
)
from engine.store.service_store import ServiceStore

router = APIRouter(include_in_schema=False)
# Before /reports/{name}: the funnel builder has its own routes.
router.include_router(report_funnel.router)

FromText = Annotated[str | None, Query(alias="from", max_length=32)]
ToText = Annotated[str | None, Query(alias="to", max_length=32)]
ClinicText = Annotated[str | None, Query(alias="clinic_id", max_length=128)]
ByList = Annotated[list[str] | None, Query(alias="by", max_length=16)]
WindowQuery = Annotated[str | None, Query(alias="window", max_length=16)]
FreshFlag = Annotated[str | None, Query(alias="fresh", max_length=1)]
FullText = Annotated[str | None, Query(alias="full", max_length=1)]

Answer = Callable[["Asked", ReportScope, ServiceStore, str], Awaitable[Any]]


@dataclass(frozen=True)
class Asked:
    """A report page's filters as read: the period, the clinic, the report's own."""

    period: Period
    clinic: str | None
    by: list[FirstTouchField]
    window: str
    problem: str | None
    first_text: str
    last_text: str


async def _active(asked: Asked, scope: ReportScope, store: ServiceStore, fmt: str) -> Any:
    return await active.active(scope, store, format=cast(Any, fmt))


async def _acquisition(asked: Asked, scope: ReportScope, store: ServiceStore, fmt: str) -> Any:
    by = cast(Any, asked.by)
    return await acquisition.acquisition(scope, store, by, asked.window, format=cast(Any, fmt))


async def _kpis(asked: Asked, scope: ReportScope, store: ServiceStore, fmt: str) -> Any:
    by = cast(Any, asked.by)
    return await kpis.kpis(scope, store, by, asked.window, format=cast(Any, fmt))


async def _channels(asked: Asked, scope: ReportScope, store: ServiceStore, fmt: str) -> Any:
    return await channels.channels(scope, store, format=cast(Any, fmt))


async def _doctors(asked: Asked, scope: ReportScope, store: ServiceStore, fmt: str) -> Any:
    return await doctors.doctors(scope, store, format=cast(Any, fmt))


async def _clinics(asked: Asked, scope: ReportScope, store: ServiceStore, fmt: str) -> Any:
    return await clinics.clinics(scope, store, format=cast(Any, fmt))


#: Each report's API route, asked as the API asks it.
ANSWERS: dict[str, Answer] = {
    "active": _active,
    "acquisition": _acquisition,
    "kpis": _kpis,
    "channels": _channels,
    "doctors": _doctors,
    "clinics": _clinics,
}


def read_filters(
    request: Request,
    first: str | None,
    last: str | None,
    clinic_id: str | None,
    by: list[str] | None,
    window: str | None,
) -> Asked:
    """The filters a page was asked with; ``problem`` names what cannot be read."""
    today = dt.datetime.now(ZoneInfo(settings_of(request).compliance.timezone)).date()
    period, period_problem = period_of(first, last, today)
    problem: str | None = period_problem
    fields = [f for f in dict.fromkeys(by or ["channel"]) if f in FIRST_TOUCH_FIELDS]
    if by and len(fields) != len(set(by)):
        problem = problem or "bad_by"
    if window is not None and problem is None:
        try:
            window_of(window)  # the API's own check, before anything is counted
        except RequestValidationError:
            problem = "bad_window"
    return Asked(
        period=period,
        clinic=clinic_id or None,
        by=cast(list[FirstTouchField], fields or ["channel"]),
        window=window or f"{DEFAULT_WINDOW.days}d",
        problem=problem,
        first_text=(first or "") if problem else period.first.isoformat(),
        last_text=(last or "") if problem else period.last.isoformat(),
    )


async def scope_of(request: Request, console: Console, asked: Asked) -> ReportScope:
    """The report scope of the filters, narrowed to the user's clinics."""
    store, settings = store_of(request), settings_of(request)
    period = asked.period
    return await make_scope(
        console.caller, store, settings, period.first, period.end, None, asked.clinic
    )


def _spec(name: str) -> Spec:
    spec = SPECS.get(name)
    if spec is None:
        raise HTTPException(404)
    return spec


@router.get("/reports", response_class=HTMLResponse)
async def index(request: Request, console: SignedIn) -> HTMLResponse:
    """The list of reports, each a link to its page."""
    return render(request, "reports.html", {"console": console, "names": NAMES})


@router.get("/reports/{name}.csv")
async def export(
    request: Request,
    console: SignedIn,
    name: str,
    first: FromText = None,
    last: ToText = None,
    clinic_id: ClinicText = None,
    by: ByList = None,
    window: WindowQuery = None,
) -> Response:
    """The report's CSV, the API's own, for the user's scope (400 for bad filters)."""
    _spec(name)
    asked = read_filters(request, first, last, clinic_id, by, window)
    if asked.problem:
        return Response(asked.problem, status_code=400, media_type="text/plain")
    try:
        scope = await scope_of(request, console, asked)
        answer = await ANSWERS[name](asked, scope, store_of(request), "csv")
    except RequestValidationError:
        return Response("bad_filter", status_code=400, media_type="text/plain")
    return cast(Response, answer)


@router.get("/reports/{name}", response_class=HTMLResponse)
async def report_page(
    request: Request,
    console: SignedIn,
    name: str,
    first: FromText = None,
    last: ToText = None,
    clinic_id: ClinicText = None,
    by: ByList = None,
    window: WindowQuery = None,
    fresh: FreshFlag = None,
    full: FullText = None,
) -> HTMLResponse:
    """One report: its filters, chart, table and CSV link. An answer computed for the
    same scope and filters a moment ago (``report_cache``) is drawn in the page, which
    says when; otherwise the page answers at once with its filters and htmx asks for
    the figures (``/reports/<name>/figures``), so nobody looks at a blank screen while
    a chain's events are counted. ``full=1`` (no JavaScript) counts them in the page;
    ``fresh=1`` counts again."""
    spec = _spec(name)
    asked = read_filters(request, first, last, clinic_id, by, window)
    scope = await scope_of(request, console, asked)
    kept: Kept | None = None
    pending, problem = False, asked.problem
    if problem is None:
        key = _key(name, scope, asked)
        kept = None if fresh == "1" else cache_of(request).peek(key)
        if kept is None and full:
            kept, problem = await _counted(request, name, asked, scope, fresh == "1")
        pending = kept is None and problem is None
    context = await _context(request, console, name, spec, asked, kept)
    context |= {"pending": pending, "problem": problem}
    context["figures_url"] = _figures_url(request, name)
    return render(request, "report.html", context, status_code=422 if problem else 200)


@router.get("/reports/{name}/figures", response_class=HTMLResponse)
async def report_figures(
    request: Request,
    console: SignedIn,
    name: str,
    first: FromText = None,
    last: ToText = None,
    clinic_id: ClinicText = None,
    by: ByList = None,
    window: WindowQuery = None,
    fresh: FreshFlag = None,
) -> HTMLResponse:
    """A report page's figures (the chart, the table, CSV and refresh links), for
    htmx to place in the page; the kept answer unless ``fresh=1``."""
    spec = _spec(name)
    asked = read_filters(request, first, last, clinic_id, by, window)
    scope = await scope_of(request, console, asked)
    kept, problem = None, asked.problem
    if problem is None:
        kept, problem = await _counted(request, name, asked, scope, fresh == "1")
    context = await _context(request, console, name, spec, asked, kept, choices=False)
    context["problem"] = problem
    # 200 with the explanation: htmx places no 4xx answer in the page.
    return render(request, "report_figures.html", context)


def _key(name: str, scope: ReportScope, asked: Asked) -> str:
    """What a kept answer is kept by: the report, the scope as made for the user (so a
    staff user's answer is never another's) and the report's own filters."""
    return f"{name}|{scope.model_dump_json()}|{','.join(asked.by)}|{asked.window}"


async def _answer(
    request: Request, name: str, asked: Asked, scope: ReportScope, fresh: bool
) -> Kept:
    store = store_of(request)
    return await cache_of(request).answer(
        _key(name, scope, asked),
        lambda: ANSWERS[name](asked, scope, store, "json"),
        fresh=fresh,
    )


async def _counted(
    request: Request, name: str, asked: Asked, scope: ReportScope, fresh: bool
) -> tuple[Kept | None, str | None]:
    """The answer (kept or counted now), or the problem that stopped the count."""
    try:
        return await _answer(request, name, asked, scope, fresh), None
    except RequestValidationError:
        return None, "bad_window"


def _figures_url(request: Request, name: str) -> str:
    """Where htmx asks for the page's figures: the same filters, without ``full``."""
    query = request.url.remove_query_params("full").query
    return f"/reports/{name}/figures" + (f"?{query}" if query else "")


async def _context(
    request: Request,
    console: Console,
    name: str,
    spec: Spec,
    asked: Asked,
    kept: Kept | None,
    *,
    choices: bool = True,
) -> dict[str, Any]:
    """What ``report.html`` and ``report_figures.html`` draw."""
    report = cast(BaseModel | None, None if kept is None else kept.value)
    zone = ZoneInfo(settings_of(request).compliance.timezone)
    page = request.url.remove_query_params(["fresh", "full"])
    page_path = page.path.removesuffix("/figures")
    refresh = page.include_query_params(fresh="1")
    context: dict[str, Any] = {
        "console": console,
        "name": name,
        "spec": spec,
        "asked": asked,
        "problem": asked.problem,
        "max_days": MAX_DAYS,
        "fields": FIRST_TOUCH_FIELDS,
        "clinics": await clinic_choices(request, console, asked.clinic) if choices else [],
        "table": None,
        "provisional": bool(getattr(report, "provisional", False)),
        "csv_query": page.query,
        "as_of": None if kept is None else kept.at.astimezone(zone),
        "fresh_url": f"{page_path}?{refresh.query}",
        "full_url": f"{page_path}?{page.include_query_params(full='1').query}",
    }
    if report is not None:
        rows = cast(list[BaseModel], getattr(report, "rows", []))
        context["table"] = table_of(spec, rows, asked.by, getattr(report, "total", None))
    return context
