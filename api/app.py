"""The FastAPI application: routers, error mapping, and the OpenAPI document.

The store is synchronous (SQLAlchemy): routes that only use it are plain ``def`` and
run in the threadpool; routes that await the dispatcher are ``async def``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api import console, errors
from api.limits import BodyLimit
from api.routes import ROUTERS
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from engine.store.service_store import ServiceStore

VERSION = "0.1.0"

DESCRIPTION = """\
carepath runs patient journeys for clinic chains: events and tags from other systems
enroll customers in journeys; staff work the handoff tasks journeys create.

Authenticate with an API key from `carepath keys create`, sent as
`Authorization: Bearer <key>`. Scopes: **admin** may do everything; **ingest** may only
call `/v1/track`, `/v1/identify` and `/v1/chats`; **staff** may read customers of its own
clinics, record their refusal of automated marketing, and work its clinics' handoff
tasks (another clinic's answers 404, as if it did not exist). Every error is
`application/problem+json` with an `errors` list.
"""

TAGS: list[dict[str, Any]] = [
    {"name": "ingest", "description": "Events and identities from other systems."},
    {
        "name": "chats",
        "description": "WeCom chat records and call transcripts; their keywords add tags.",
    },
    {
        "name": "customers",
        "description": "Profiles, tags, consents, guardians, audit trails, events, touches.",
    },
    {"name": "merges", "description": "Customers merged because they shared an identity."},
    {
        "name": "journeys",
        "description": "Deployed journeys, deploys, pausing, step counts, scheduled runs.",
    },
    {
        "name": "segments",
        "description": "Deployed segments with sizes, their members (pages, CSV), ad-hoc "
        "previews of a rule.",
    },
    {"name": "enrollments", "description": "API enrollments, traces, cancelling."},
    {"name": "handoffs", "description": "Staff work queues and task outcomes."},
    {"name": "qrcodes", "description": "Parameterized QR codes and contact-me codes."},
    {"name": "reports", "description": "Customers by first touch, and what became of them."},
    {
        "name": "segment",
        "description": "The Segment HTTP tracking API (batch, track, identify, page): an ingest "
        "key as the write key (HTTP Basic user name), gzip bodies; each messageId acted on once.",
    },
    {
        "name": "callbacks",
        "description": "WeChat, WeCom and Tencent SMS callbacks: receipts, follows, scans, "
        "consents, customer messages, contacts (signed; each acted on once).",
    },
    {"name": "health", "description": "Liveness and readiness, without auth."},
]


def create_app(
    store: ServiceStore,
    dispatcher: Dispatcher,
    settings: Settings,
    *,
    on_shutdown: Callable[[], None] | None = None,
) -> FastAPI:
    """The API over ``store`` and ``dispatcher``, which the caller builds and closes
    (or hands to ``on_shutdown``, called when the server stops).

    The API runs no background loops: the sweep of undispatched work and the WeCom
    result reads belong to the one background workflow the workers keep running
    (``workflows.background``), so N API processes add no duplicate sweeps.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
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
    app.add_middleware(BodyLimit, limits=settings.api)
    for router in ROUTERS:
        app.include_router(router)
    # The console's pages at / and its assets at /static (none in the OpenAPI document).
    console.mount(app)

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
            document = errors.document_body_problems(document)
            app.openapi_schema = errors.problem_media_types(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
