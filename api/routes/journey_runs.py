"""A scheduled journey's runs: its Temporal Schedule and the progress of recent ticks."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from api.deps import AdminKey, DispatcherDep, StoreDep
from api.errors import problem_responses
from api.schemas.schedules import JourneyRuns, TickPublic
from engine.contracts.ticks import TickProgress
from engine.dispatch.journey_schedules import schedule_id, schedule_of, temporal_cron
from engine.errors import NotFound

router = APIRouter(
    prefix="/v1/journeys", tags=["journeys"], responses=problem_responses(401, 403, 422)
)


@router.get("/{journey_id}/runs", response_model=JourneyRuns, responses=problem_responses(404))
async def journey_runs(
    journey_id: str,
    key: AdminKey,
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
    client = dispatcher.client
    try:
        description = await client.get_schedule_handle(schedule_id(journey_id)).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(
                f"journey {journey_id} has no Temporal schedule yet: deploy it again"
            ) from None
        raise
    info = description.info
    started = [
        (a.scheduled_at, a.action.workflow_id)
        for a in info.recent_actions
        if isinstance(a.action, ScheduleActionExecutionStartWorkflow)
    ]
    started.sort(reverse=True)
    running = {
        a.workflow_id
        for a in info.running_actions
        if isinstance(a, ScheduleActionExecutionStartWorkflow)
    }
    ticks = await asyncio.gather(
        *(_tick(client, wid, at, wid in running) for at, wid in started[:limit])
    )
    _, zone = temporal_cron(spec, bundle.timezone)
    return JourneyRuns(
        journey_id=journey_id,
        schedule_id=schedule_id(journey_id),
        cron=spec.cron,
        timezone=spec.timezone or zone,
        segment=spec.segment,
        paused=description.schedule.state.paused,
        next_ticks=list(info.next_action_times[:5]),
        ticks=list(ticks),
    )


async def _tick(
    client: Client, workflow_id: str, scheduled_at: datetime, running: bool
) -> TickPublic:
    handle = client.get_workflow_handle(workflow_id)
    progress: TickProgress | None = None
    status = "planning"
    try:
        if running:
            # A running tick answers through a worker; without one, do not hang.
            progress = await handle.query(
                "progress", result_type=TickProgress, rpc_timeout=timedelta(seconds=5)
            )
        else:
            described = await handle.describe()
            if described.status == WorkflowExecutionStatus.COMPLETED:
                typed = client.get_workflow_handle(workflow_id, result_type=TickProgress)
                progress = await typed.result()
            elif described.status is not None:
                status = described.status.name.lower()
    except (RPCError, WorkflowQueryFailedError):
        status = "unknown"  # the workflow aged out of retention, or no worker answers yet
    if progress is not None:
        status = progress.status
    p = progress or TickProgress(journey_id="")
    return TickPublic(
        workflow_id=workflow_id,
        scheduled_at=p.tick_at or scheduled_at,
        status=status,
        version=p.version,
        segment=p.segment,
        enrolled=p.enrolled,
        skipped=p.skipped,
        batches=p.batches,
        skips=p.skips,
        reason=p.reason,
        resumed=p.resumed,
    )
