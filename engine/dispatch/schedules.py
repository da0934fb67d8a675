"""Temporal Schedules kept in step with what is deployed: put (create or replace) and
delete by id.

Shared by the schedules of ``schedule:`` journeys (``engine.dispatch.journey_schedules``) and the
refresh schedules of time-based segments (``engine.dispatch.segment_schedules``); each of
those decides which schedules should exist, this module only talks to Temporal.
"""

from __future__ import annotations

from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

#: The statuses that mean "there is no such schedule": NOT_FOUND, and UNIMPLEMENTED
#: from a server without schedules (the time-skipping test server has none).
ABSENT = (RPCStatusCode.NOT_FOUND, RPCStatusCode.UNIMPLEMENTED)


async def put_schedule(
    client: Client, schedule_id: str, schedule: Schedule
) -> Literal["created", "updated"]:
    """Create the schedule, or replace the whole of the one already under this id."""
    try:
        await client.create_schedule(schedule_id, schedule)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(replace)
    return "updated"


async def delete_schedule(client: Client, schedule_id: str) -> bool:
    """Delete the schedule; False if there was none (or the server has no schedules)."""
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as err:
        if err.status not in ABSENT:
            raise
        return False
    return True
