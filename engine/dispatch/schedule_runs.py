"""A scheduled journey's runs, read from Temporal: its schedule and its recent ticks.

A running tick answers its progress through a query (a worker must be there to answer,
so the query gives up after a few seconds); a completed one through its result; any
other tick by its workflow status.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from engine.contracts.ticks import TickProgress
from engine.dispatch.journey_schedules import schedule_id
from engine.errors import NotFound


@dataclass(frozen=True)
class TickRun:
    """One tick the schedule started: its status and, when known, its progress."""

    workflow_id: str
    scheduled_at: datetime
    status: str
    progress: TickProgress | None


@dataclass(frozen=True)
class ScheduleRuns:
    """A journey's Temporal schedule as it stands, and its most recent ticks first."""

    paused: bool
    next_ticks: list[datetime]
    ticks: list[TickRun]


async def schedule_runs(client: Client, journey_id: str, limit: int) -> ScheduleRuns:
    """The schedule of ``journey_id`` and its ``limit`` most recent ticks (NotFound when
    Temporal holds no schedule for it)."""
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
    return ScheduleRuns(
        paused=description.schedule.state.paused,
        next_ticks=list(info.next_action_times[:5]),
        ticks=list(ticks),
    )


async def _tick(client: Client, workflow_id: str, scheduled_at: datetime, running: bool) -> TickRun:
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
    return TickRun(workflow_id, scheduled_at, status, progress)
