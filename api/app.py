"""The FastAPI application: routers, error mapping, and the OpenAPI document.

The store is synchronous (SQLAlchemy): routes that only use it are plain ``def`` and
run in the threadpool; routes that await the dispatcher are ``async def``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from activities.channels.clients import WeComClient
from activities.channels.wecom.poll import wecom_results_forever
from api import errors
from api.routes import (
    callbacks,
    chats,
    customers,
    enrollments,
    handoffs,
    health,
    ingest,
    journey_runs,
    journeys,
    qrcodes,
    reports,
    segments,
)
from engine.dispatch.dispatcher import SWEEP_INTERVAL, Dispatcher
from engine.settings import Settings
from engine.store.service_store import ServiceStore

VERSION = "0.1.0"

DESCRIPTION = """\
carepath runs patient journeys for clinic chains: events and tags from other systems
enroll customers in journeys; staff work the handoff tasks journeys create.

Authenticate with an API key from `carepath keys create`, sent as
`Authorization: Bearer <key>`. Scopes: **admin** may do everything; **ingest** may only
call `/v1/track`, `/v1/identify` and `/v1/chats`; **staff** may read customers and work
handoff tasks of its own clinics. Every error is `application/problem+json` with an
`errors` list.
"""

TAGS: list[dict[str, Any]] = [
    {"name": "ingest", "description": "Events and identities from other systems."},
    {"name": "customers", "description": "Profiles, tags, consents, events and merges."},
    {"name": "journeys", "description": "Deployed journeys, deploys, pausing, step counts."},
    {
        "name": "segments",
        "description": "Deployed segments with sizes, their members (pages, CSV), ad-hoc "
        "previews of a rule.",
    },
    {"name": "enrollments", "description": "API enrollments, traces, cancelling."},
    {"name": "handoffs", "description": "Staff work queues and task outcomes."},
    {
        "name": "attribution",
        "description": "Parameterized QR codes and contact-me codes; customers by first touch.",
    },
    {
        "name": "callbacks",
        "description": "WeChat, WeCom and Tencent SMS callbacks: receipts, follows, scans, "
        "consents, customer messages, contacts (signed; each acted on once).",
    },
    {"name": "health", "description": "Liveness, without auth."},
]


def create_app(
    store: ServiceStore,
    dispatcher: Dispatcher,
    settings: Settings,
    *,
    sweep_interval: float | None = SWEEP_INTERVAL,
    on_shutdown: Callable[[], None] | None = None,
    wecom_results: WeComClient | None = None,
) -> FastAPI:
    """The API over ``store`` and ``dispatcher``, which the caller builds and closes
    (or hands to ``on_shutdown``, called when the server stops).

    While it serves, the dispatcher's sweep retries events whose dispatch never
    completed (``sweep_interval`` seconds apart; None turns it off), and with a
    ``wecom_results`` client the WeCom send results are read back
    (``activities.channels.wecom.poll``).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loops: list[asyncio.Task[None]] = []
        if sweep_interval:
            loops.append(asyncio.create_task(dispatcher.sweep_forever(sweep_interval)))
        if wecom_results is not None:
            loops.append(
                asyncio.create_task(wecom_results_forever(store, dispatcher, wecom_results))
            )
        try:
            yield
        finally:
            for loop in loops:
                loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await loop
            if on_shutdown is not None:
                on_shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title="carepath",
        summary="Journey engine for clinic chains",
        description=DESCRIPTION,
        version=VERSION,
        openapi_tags=TAGS,
    )
    app.state.store = store
    app.state.dispatcher = dispatcher
    app.state.settings = settings
    errors.install(app)
    for module in (ingest, customers, journeys, enrollments, handoffs, callbacks, health):
        app.include_router(module.router)
    for module in (journey_runs, segments):  # scheduled journeys' ticks; segments
        app.include_router(module.router)
    for module in (chats, qrcodes, reports):  # keyword tags; attribution
        app.include_router(module.router)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = errors.problem_media_types(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
