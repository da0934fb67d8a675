"""The console: pages for people, served by the API process at ``/`` (the API stays
under ``/v1``).

Server-rendered Jinja2 templates (``templates/``) with htmx for partial updates, the
text in Babel catalogs (``locale/``, Chinese first), and htmx, ECharts and axe-core
pinned from the npm registry and copied into ``static/vendor/`` by ``make assets``;
carepath serves them itself at ``/static``, never from a CDN. One router per feature:

- ``auth``: signing in and out (sessions, CSRF, the sign-in rate limit);
- ``dashboard``: 看板, the seed KPIs;
- ``journeys``: 旅程, the journeys, each one's live diagram, step panels, experiments,
  pause and resume;
- ``customers``: 客户, search and profiles with their actions;
- ``tasks``: 工作台, the call tasks of the user's clinics (claim, call, record the outcome);
- ``reports``: 报表, the reports with their charts, tables and CSV, and the funnel builder;
- ``segments``: 分群, segments with their sizes and members (export for admins);
- ``channels``: 渠道, channel circuits and quotas with their reset, recent opt-outs and skips;
- ``workspace``: 工作区, validation, deploys (server folder or uploaded archive) and their history;
- ``language``: the language switch.

Handlers call the same services the API's routes call, through the API's own
``Caller`` for the signed-in user (``session``); no SQL in a template or a handler.
None of these routes is in the OpenAPI document.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import URL

from api.console import (
    auth,
    channels,
    customers,
    dashboard,
    journeys,
    language,
    reports,
    segments,
    tasks,
    workspace,
)
from api.console.errors import CsrfRefused, SignInRequired
from api.console.report_cache import ReportCache
from api.console.templating import load_all, render
from api.console.throttle import LoginThrottle

STATIC = Path(__file__).parent / "static"
ROUTERS = (
    auth.router,
    dashboard.router,
    language.router,
    customers.router,
    tasks.router,
    journeys.router,
    reports.router,
    segments.router,
    channels.router,
    workspace.router,
)

__all__ = ["ROUTERS", "STATIC", "mount"]


def mount(app: FastAPI) -> None:
    """Add the console to ``app``: its routers, ``/static``, and its refusals' pages."""
    load_all()
    app.state.login_throttle = LoginThrottle()
    app.state.report_cache = ReportCache()
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(CsrfRefused, _refused)


async def _sign_in(request: Request, exc: Exception) -> Response:
    """To the sign-in page, coming back here after (htmx: the whole page goes there)."""
    next_url = exc.next_url if isinstance(exc, SignInRequired) else "/"
    target = str(URL("/login").include_query_params(next=next_url))
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, 303)


async def _refused(request: Request, exc: Exception) -> Response:
    """403: the request's CSRF token was missing or not the session's."""
    return render(request, "refused.html", status_code=403)
