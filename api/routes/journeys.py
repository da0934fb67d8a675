"""Journeys: what is deployed, deploying a workspace, pausing, per-step counts, and a
scheduled journey's runs (its Temporal Schedule and the progress of recent ticks)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from api.deploys import deploy_workspace
from api.deps import Admin, DispatcherDep, StoreDep
from api.errors import problem_responses
from api.schemas.journeys import (
    DeployRequest,
    DeployResult,
    JourneyDetail,
    JourneyPublic,
    JourneyVersionPublic,
    StepCounts,
    StepNow,
)
from api.schemas.schedules import JourneyRuns, TickPublic
from engine.contracts.ticks import TickProgress
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.journey_schedules import schedule_id, schedule_of, temporal_cron
from engine.dispatch.schedule_runs import TickRun
from engine.dispatch.visibility import running_steps
from engine.errors import NotFound
from engine.models.changes import NewChange
from engine.models.workspace import JourneyBundle
from engine.store.records import JourneyInfo, StepTally
from engine.store.service_store import ServiceStore

router = APIRouter(prefix="/journeys", tags=["journeys"])


@router.get("", response_model=list[JourneyPublic])
def list_journeys(caller: Admin, store: StoreDep) -> list[JourneyPublic]:
    """Every deployed journey with its current version and whether it is paused."""
    return [_public(info) for info in store.list_journeys()]


@router.post("/deploy", response_model=DeployResult, responses=problem_responses(503))
async def deploy(
    body: DeployRequest, caller: Admin, store: StoreDep, dispatcher: DispatcherDep
) -> DeployResult:
    """Validate a workspace folder on the server and deploy its journeys (or one); the
    Temporal schedules of scheduled journeys follow."""
    try:
        infos = await deploy_workspace(
            dispatcher,
            store,
            Path(body.path),
            body.journey,
            actor=f"key:{caller.key.id}",
            source="folder",
            name=body.path,
        )
    except OSError as exc:  # a path the system cannot open at all (too long, a device...)
        raise RequestValidationError(
            [{"loc": ("body", "path"), "type": "value_error", "msg": f"cannot be read: {exc}"}]
        ) from None
    return DeployResult(
        deployed=[JourneyVersionPublic.model_validate(i.model_dump()) for i in infos]
    )


@router.get("/{journey_id}", response_model=JourneyDetail, responses=problem_responses(404))
def get_journey(journey_id: str, caller: Admin, store: StoreDep) -> JourneyDetail:
    """A journey with every deployed version and the current definition."""
    info = _info(store, journey_id)
    bundle = store.current_bundle(journey_id)
    return JourneyDetail(
        **_public(info).model_dump(),
        versions=[JourneyVersionPublic.model_validate(v.model_dump()) for v in info.versions],
        definition=bundle.journey.model_dump(mode="json", exclude_none=True, by_alias=True),
    )


@router.post(
    "/{journey_id}/pause", response_model=JourneyPublic, responses=problem_responses(404, 503)
)
async def pause(
    journey_id: str, caller: Admin, store: StoreDep, dispatcher: DispatcherDep
) -> JourneyPublic:
    """Stop enrolling (triggers, schedule and API); running enrollments carry on."""
    return await set_paused(store, dispatcher, journey_id, True, actor=f"key:{caller.key.id}")


@router.post(
    "/{journey_id}/resume", response_model=JourneyPublic, responses=problem_responses(404, 503)
)
async def resume(
    journey_id: str, caller: Admin, store: StoreDep, dispatcher: DispatcherDep
) -> JourneyPublic:
    """Enroll again on triggers, on schedule and through the API."""
    return await set_paused(store, dispatcher, journey_id, False, actor=f"key:{caller.key.id}")


@router.get("/{journey_id}/steps", response_model=StepCounts, responses=problem_responses(404))
async def step_counts(
    journey_id: str, caller: Admin, store: StoreDep, dispatcher: DispatcherDep
) -> StepCounts:
    """Per step: enrollments that reached it, wait there now, sends by outcome and
    handoff tasks by state."""
    bundle = await asyncio.to_thread(_bundle, store, journey_id)
    running = await running_steps(dispatcher.client, journey_id)
    tallies = await asyncio.to_thread(store.step_tallies, journey_id, running or {})
    waiting = Counter((running or {}).values())
    order = [s.id for s in bundle.journey.steps]
    order += sorted(set(tallies) - set(order))
    by_step = {
        step: StepNow(
            reached=tallies.get(step, StepTally()).reached,
            waiting_now=None if running is None else waiting[step],
            sends=tallies.get(step, StepTally()).sends,
            handoffs=tallies.get(step, StepTally()).handoffs,
        )
        for step in order
    }
    legacy = await asyncio.to_thread(store.step_counts, journey_id)
    return StepCounts(journey_id=journey_id, by_step=by_step, steps=legacy)


@router.get("/{journey_id}/runs", response_model=JourneyRuns, responses=problem_responses(404, 503))
async def journey_runs(
    journey_id: str,
    caller: Admin,
    store: StoreDep,
    dispatcher: DispatcherDep,
    limit: Annotated[int, Query(ge=1, le=50, description="at most this many ticks")] = 10,
) -> JourneyRuns:
    """A scheduled journey's schedule and its recent ticks with members enrolled and
    skipped so far (a running tick answers live)."""
    bundle = await asyncio.to_thread(store.current_bundle, journey_id)
    spec = schedule_of(bundle)
    if spec is None:
        raise NotFound(
            f"journey {journey_id} has no schedule trigger (schedule: {{cron, segment}})"
        )
    runs = await dispatcher.journey_runs(journey_id, limit)
    _, zone = temporal_cron(spec, bundle.timezone)
    return JourneyRuns(
        journey_id=journey_id,
        schedule_id=schedule_id(journey_id),
        cron=spec.cron,
        timezone=spec.timezone or zone,
        segment=spec.segment,
        paused=runs.paused,
        next_ticks=runs.next_ticks,
        ticks=[_tick(t) for t in runs.ticks],
    )


def _tick(run: TickRun) -> TickPublic:
    p = run.progress or TickProgress(journey_id="")
    return TickPublic(
        workflow_id=run.workflow_id,
        scheduled_at=p.tick_at or run.scheduled_at,
        status=run.status,
        version=p.version,
        segment=p.segment,
        enrolled=p.enrolled,
        skipped=p.skipped,
        batches=p.batches,
        skips=p.skips,
        reason=p.reason,
        resumed=p.resumed,
    )


def _bundle(store: ServiceStore, journey_id: str) -> JourneyBundle:
    _info(store, journey_id)  # 404 for a journey never deployed
    return store.current_bundle(journey_id)


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


async def set_paused(
    store: ServiceStore, dispatcher: Dispatcher, journey_id: str, paused: bool, *, actor: str
) -> JourneyPublic:
    """Pause or resume a journey (the API's and the console's): the trigger index, the
    change log line by ``actor``, then the journey's Temporal schedule. NotFound for a
    journey never deployed."""

    def steer() -> JourneyPublic:
        _info(store, journey_id)  # 404 before anything changes
        # This process's trigger index sees it at once; other processes within seconds.
        dispatcher.set_paused(journey_id, paused)
        change = NewChange(
            at=datetime.now(UTC),
            actor=actor,
            action="journey.paused" if paused else "journey.resumed",
            subject_kind="journey",
            subject_id=journey_id,
        )
        store.record_change(change)
        return _public(_info(store, journey_id))

    public = await asyncio.to_thread(steer)
    await dispatcher.sync_schedules([journey_id])
    return public
