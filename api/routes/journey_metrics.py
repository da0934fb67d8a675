"""A journey's metrics: its cohort by entry date, per-step figures and experiments."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from api.deps import DispatcherDep, Staff, StoreDep
from api.errors import problem_responses
from api.routes.reports.scope import ClinicId, clinics_for
from api.schemas.journey_metrics import JourneyMetrics
from engine.dispatch.visibility import running_steps
from engine.errors import NotFound
from engine.models.workspace import JourneyBundle
from engine.reports.journey_metrics import journey_metrics
from engine.store.metrics import Cohort
from engine.store.service_store import ServiceStore

router = APIRouter(prefix="/journeys", tags=["journeys"])


@router.get(
    "/{journey_id}/metrics", response_model=JourneyMetrics, responses=problem_responses(404)
)
async def metrics(
    journey_id: str,
    caller: Staff,
    store: StoreDep,
    dispatcher: DispatcherDep,
    start: Annotated[
        date | None,
        Query(alias="from", description="entered on or after this day (workspace timezone)"),
    ] = None,
    end: Annotated[
        date | None, Query(alias="to", description="entered before this day (workspace timezone)")
    ] = None,
    version: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="one version; default every version")
    ] = None,
    clinic_id: ClinicId = None,
) -> JourneyMetrics:
    """Entered, active, completed, converted and exited enrollments, per-step figures and
    each split's arms against the control; a staff key counts its clinics' customers."""
    if start is not None and end is not None and end < start:
        raise RequestValidationError(
            [{"loc": ("query", "to"), "type": "value_error", "msg": "must not be before from"}]
        )
    bundle = await asyncio.to_thread(_bundle, store, journey_id, version)
    zone = ZoneInfo(bundle.timezone)
    cohort = Cohort(
        journey_id=journey_id,
        version=version,
        since=None if start is None else datetime.combine(start, time(), zone),
        until=None if end is None else datetime.combine(end, time(), zone),
        clinics=clinics_for(caller.clinics, clinic_id),
    )
    running = await running_steps(dispatcher.client, journey_id)
    now = datetime.now(UTC)
    counts = await asyncio.to_thread(store.journey_counts, cohort, now, running or {})
    return journey_metrics(bundle, counts, version, now)


def _bundle(store: ServiceStore, journey_id: str, version: int | None) -> JourneyBundle:
    """The version asked for, else the current one; 404 for either never deployed."""
    for info in store.list_journeys():
        if info.journey_id != journey_id:
            continue
        if version is None:
            return store.current_bundle(journey_id)
        if any(v.version == version for v in info.versions):
            return store.get_bundle(journey_id, version)
        raise NotFound(f"journey {journey_id!r} has no version {version}")
    raise NotFound(f"no deployed journey {journey_id!r}")
