"""Refresh schedules: one Temporal Schedule per deployed time-based segment.

A segment whose rule reads time windows (``within``, ``older_than``, also through the
segments it uses) can change with nobody touching the customer: an event ages out.
Each such segment gets the Schedule ``segment-refresh:<id>`` running
``SegmentRefreshWorkflow`` on its ``refresh`` cron, else hourly (``DEFAULT_REFRESH``),
in the workspace timezone; overlap SKIP and a short catch-up window. Segments that
are not time-based need no refresh: every change to a customer re-evaluates them.
Separate from the schedules of ``schedule:`` journeys (``engine.dispatch.journey_schedules``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from engine.contracts.segment_refresh import SEGMENT_REFRESH_WORKFLOW, SegmentRefreshInput
from engine.dispatch.schedules import ABSENT, delete_schedule, put_schedule
from engine.models.journey import Segment
from engine.models.segment_index import SegmentIndex

log = logging.getLogger("carepath.segments")

SCHEDULE_PREFIX = "segment-refresh:"
#: The refresh of a time-based segment without a ``refresh`` cron: hourly, on the hour.
DEFAULT_REFRESH = "0 * * * *"
#: A run missed by at most this much still runs once; older ones are dropped.
CATCHUP_WINDOW = timedelta(minutes=10)


def refresh_schedule_id(segment_id: str) -> str:
    """The Temporal Schedule of a segment's refresh."""
    return f"{SCHEDULE_PREFIX}{segment_id}"


def build_refresh_schedule(segment: Segment, *, timezone: str, task_queue: str) -> Schedule:
    """The refresh schedule of one time-based segment."""
    cron = segment.refresh or DEFAULT_REFRESH
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SEGMENT_REFRESH_WORKFLOW,
            SegmentRefreshInput(segment_id=segment.id),
            id=refresh_schedule_id(segment.id),
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=[cron], time_zone_name=timezone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(note=f"carepath: refreshes segment {segment.id} ({cron}, {timezone})"),
    )


@dataclass
class RefreshSync:
    """What ``sync_refresh_schedules`` changed, by segment id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


async def sync_refresh_schedules(
    client: Client,
    index: SegmentIndex,
    *,
    timezone: str,
    task_queue: str,
    forget: Iterable[str] = (),
) -> RefreshSync:
    """Create or update the refresh schedule of every deployed time-based segment and
    delete the others' (those listed by Temporal, and ``forget``: segments just
    removed or no longer time-based, which a listing may not show yet)."""
    result = RefreshSync()
    wanted = {sid: index.segments[sid] for sid in sorted(index.timed)}
    for sid, segment in wanted.items():
        schedule = build_refresh_schedule(segment, timezone=timezone, task_queue=task_queue)
        try:
            outcome = await put_schedule(client, refresh_schedule_id(sid), schedule)
        except RPCError as err:
            if err.status != RPCStatusCode.UNIMPLEMENTED:
                raise
            # A server without schedules (the time-skipping test server): nothing to
            # keep in step; refreshes run only when started by hand there.
            log.warning("Temporal server has no schedules: segment refreshes not scheduled")
            return result
        (result.created if outcome == "created" else result.updated).append(sid)
    stale = set(forget)
    try:
        async for listed in await client.list_schedules():
            if listed.id.startswith(SCHEDULE_PREFIX):
                stale.add(listed.id.removeprefix(SCHEDULE_PREFIX))
    except RPCError as err:
        if err.status not in ABSENT:
            raise
    for sid in sorted(stale - set(wanted)):
        if await delete_schedule(client, refresh_schedule_id(sid)):
            result.deleted.append(sid)
    if result.created or result.updated or result.deleted:
        log.info("segment refresh schedules synced: %s", result)
    return result
