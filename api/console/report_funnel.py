"""The funnel builder at ``/reports/funnel``: pick the steps' events (the workspace's
event names), optional property conditions, a window and a split; the page posts them
and shows the funnel's chart and tables, or what is wrong with the request.

The form becomes the API's own ``FunnelBody`` and is counted by the API's own route
(``api.routes.reports.funnel``) for the user's ``Caller``; its validation errors are
listed on the page. With ``format=csv`` the answer is the API's CSV.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.console.kpi_cards import period_of
from api.console.report_filters import clinic_choices
from api.console.session import Checked, Console, SignedIn, settings_of, store_of
from api.console.templating import render
from api.routes.reports.funnel import FunnelBody, funnel
from engine.models.reports.funnel import MAX_STEPS, FunnelReport
from engine.models.reports.scope import DEFAULT_WINDOW, NONE
from engine.workspace.events import deployed_roles

router = APIRouter(include_in_schema=False)

#: How many step rows the form offers (the API takes up to ``MAX_STEPS``).
SLOTS = MAX_STEPS
#: The steps the empty form starts with.
DEFAULT_STEPS = ("content.viewed", "appointment.booked")


async def event_names(request: Request) -> list[str]:
    """The workspace's event names: every name its event roles list, sorted."""
    roles = await asyncio.to_thread(deployed_roles, store_of(request))
    return sorted({name for names in roles.roles.values() for name in names if "*" not in name})


def _today(request: Request) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings_of(request).compliance.timezone)).date()


def blank_form(request: Request) -> dict[str, Any]:
    """The form's values before anything is asked: the last 30 days, two steps."""
    period, _ = period_of(None, None, _today(request))
    steps = [{"event": e, "key": "", "value": ""} for e in DEFAULT_STEPS]
    steps += [{"event": "", "key": "", "value": ""}] * (SLOTS - len(steps))
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "clinic_id": "",
        "window": f"{DEFAULT_WINDOW.days}d",
        "by": "",
        "steps": steps,
    }


def sent_form(form: FormData) -> dict[str, Any]:
    """The form's values as posted (text, as typed)."""

    def text(key: str) -> str:
        value = form.get(key)
        return value.strip() if isinstance(value, str) else ""

    steps = [
        {"event": text(f"event_{i}"), "key": text(f"key_{i}"), "value": text(f"value_{i}")}
        for i in range(SLOTS)
    ]
    fields = ("from", "to", "clinic_id", "window", "by")
    return {**{k: text(k) for k in fields}, "steps": steps}


def body_of(values: dict[str, Any]) -> dict[str, Any]:
    """The API's funnel body from the form: the chosen steps in order (a condition when
    a property is named), the range's ``to`` the day after the last day shown."""
    steps: list[dict[str, Any]] = []
    for step in values["steps"]:
        if not step["event"]:
            continue
        where = {step["key"]: step["value"]} if step["key"] else None
        steps.append({"event": step["event"], **({"where": where} if where else {})})
    last = values["to"]
    try:
        last = (dt.date.fromisoformat(last) + dt.timedelta(days=1)).isoformat()
    except ValueError:
        pass  # left as typed: the body's validation names it
    return {
        "steps": steps,
        "window": values["window"],
        "by": values["by"] or None,
        "from": values["from"],
        "to": last,
        "clinic_id": values["clinic_id"] or None,
    }


def problems_of(errors: list[Any]) -> list[dict[str, str]]:
    """Validation errors as (field, message) for the page."""
    out = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",))
        out.append({"field": where, "message": str(error.get("msg", ""))})
    return out


def chart_of(report: FunnelReport) -> dict[str, Any]:
    """The funnel chart's data: one bar per step, the customers who reached it."""
    return {
        "type": "funnel",
        "categories": [f"{i}. {s.event}" for i, s in enumerate(report.steps, start=1)],
        "series": [{"key": "customers", "data": [s.customers for s in report.steps]}],
    }


async def _clinics(request: Request, console: Console, chosen: str | None) -> list[str]:
    """The clinic filter's choices, as on the other report pages."""
    return await clinic_choices(request, console, chosen)


async def _page(
    request: Request,
    console: Console,
    values: dict[str, Any],
    report: FunnelReport | None = None,
    problems: list[dict[str, str]] | None = None,
) -> HTMLResponse:
    context = {
        "console": console,
        "values": values,
        "events": await event_names(request),
        "clinics": await _clinics(request, console, values["clinic_id"] or None),
        "report": report,
        "chart": chart_of(report) if report else None,
        "problems": problems or [],
        "none_value": NONE,
    }
    return render(request, "report_funnel.html", context, status_code=422 if problems else 200)


@router.get("/reports/funnel", response_class=HTMLResponse)
async def builder(request: Request, console: SignedIn) -> HTMLResponse:
    """The empty builder."""
    return await _page(request, console, blank_form(request))


@router.post("/reports/funnel", response_model=None)
async def count(request: Request, console: Checked) -> Response:
    """The funnel of the posted form (CSV with ``format=csv``), or its errors."""
    form = await request.form()
    values = sent_form(form)
    try:
        body = FunnelBody.model_validate(body_of(values))
    except ValidationError as exc:
        return await _page(request, console, values, problems=problems_of(list(exc.errors())))
    store, settings = store_of(request), settings_of(request)
    fmt = "csv" if form.get("format") == "csv" else "json"
    try:
        answer = await funnel(body, console.caller, store, settings, format=cast(Any, fmt))
    except RequestValidationError as exc:
        return await _page(request, console, values, problems=problems_of(list(exc.errors())))
    if isinstance(answer, FunnelReport):
        return await _page(request, console, values, report=answer)
    return answer
