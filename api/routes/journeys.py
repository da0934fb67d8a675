"""Journeys: what is deployed, deploying a workspace, pausing, and per-step counts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter

from api.deps import AdminKey, DispatcherDep, StoreDep
from api.errors import problem_responses
from api.schemas.journeys import (
    DeployRequest,
    DeployResult,
    JourneyDetail,
    JourneyPublic,
    JourneyVersionPublic,
    StepCounts,
)
from engine.errors import NotFound
from engine.store.records import JourneyInfo
from engine.store.service_store import ServiceStore

router = APIRouter(
    prefix="/v1/journeys", tags=["journeys"], responses=problem_responses(401, 403, 422)
)


@router.get("", response_model=list[JourneyPublic])
def list_journeys(key: AdminKey, store: StoreDep) -> list[JourneyPublic]:
    """Every deployed journey with its current version and whether it is paused."""
    return [_public(info) for info in store.list_journeys()]


@router.post("/deploy", response_model=DeployResult)
async def deploy(body: DeployRequest, key: AdminKey, dispatcher: DispatcherDep) -> DeployResult:
    """Validate a workspace folder on the server and deploy its journeys (or one); the
    Temporal schedules of scheduled journeys follow."""
    infos = await asyncio.to_thread(dispatcher.deploy, Path(body.path), body.journey)
    await dispatcher.sync_schedules([i.journey_id for i in infos])
    await dispatcher.sync_segment_schedules()
    return DeployResult(
        deployed=[JourneyVersionPublic.model_validate(i.model_dump()) for i in infos]
    )


@router.get("/{journey_id}", response_model=JourneyDetail, responses=problem_responses(404))
def get_journey(journey_id: str, key: AdminKey, store: StoreDep) -> JourneyDetail:
    """A journey with every deployed version and the current definition."""
    info = _info(store, journey_id)
    bundle = store.current_bundle(journey_id)
    return JourneyDetail(
        **_public(info).model_dump(),
        versions=[JourneyVersionPublic.model_validate(v.model_dump()) for v in info.versions],
        definition=bundle.journey.model_dump(mode="json", exclude_none=True, by_alias=True),
    )


@router.post("/{journey_id}/pause", response_model=JourneyPublic, responses=problem_responses(404))
async def pause(
    journey_id: str, key: AdminKey, store: StoreDep, dispatcher: DispatcherDep
) -> JourneyPublic:
    """Stop enrolling (triggers, schedule and API); running enrollments carry on."""
    public = await asyncio.to_thread(_set_paused, store, dispatcher.reload, journey_id, True)
    await dispatcher.sync_schedules([journey_id])
    return public


@router.post("/{journey_id}/resume", response_model=JourneyPublic, responses=problem_responses(404))
async def resume(
    journey_id: str, key: AdminKey, store: StoreDep, dispatcher: DispatcherDep
) -> JourneyPublic:
    """Enroll again on triggers, on schedule and through the API."""
    public = await asyncio.to_thread(_set_paused, store, dispatcher.reload, journey_id, False)
    await dispatcher.sync_schedules([journey_id])
    return public


@router.get("/{journey_id}/steps", response_model=StepCounts, responses=problem_responses(404))
def step_counts(journey_id: str, key: AdminKey, store: StoreDep) -> StepCounts:
    """Per step, how many enrollments entered it, wait there, sent, and so on."""
    _info(store, journey_id)
    return StepCounts(journey_id=journey_id, steps=store.step_counts(journey_id))


def _info(store: ServiceStore, journey_id: str) -> JourneyInfo:
    for info in store.list_journeys():
        if info.journey_id == journey_id:
            return info
    raise NotFound(f"no deployed journey {journey_id!r}")


def _public(info: JourneyInfo) -> JourneyPublic:
    return JourneyPublic(
        id=info.journey_id,
        name=info.name,
        current_version=info.current_version,
        paused=info.paused,
    )


def _set_paused(
    store: ServiceStore, reload: Callable[[], None], journey_id: str, paused: bool
) -> JourneyPublic:
    store.set_paused(journey_id, paused)
    # This process's trigger index sees it at once; other processes within seconds.
    reload()
    return _public(_info(store, journey_id))
