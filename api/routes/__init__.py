"""One router per resource, each with its own tag; the API assembled here, once.

Every resource router sits under ``/v1`` (where API keys are needed and every error
is a problem); the platforms' callbacks and the liveness check keep their own paths.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.errors import problem_responses
from api.routes import (
    callbacks,
    channels,
    chats,
    costs,
    customers,
    enrollments,
    handoffs,
    health,
    ingest,
    journey_metrics,
    journeys,
    merges,
    outbox,
    qrcodes,
    reports,
    segment,
    segments,
)

v1 = APIRouter(prefix="/v1", responses=problem_responses(401, 403, 422))
for _resource in (
    ingest,
    chats,
    customers,
    merges,
    journeys,
    journey_metrics,
    segments,
    enrollments,
    handoffs,
    qrcodes,
    reports,
    outbox,
    channels,
    costs,
):
    v1.include_router(_resource.router)

#: What the app includes: the versioned API, then the routes with paths of their own.
ROUTERS = (v1, segment.router, callbacks.router, health.router)
