"""Putting and deleting Temporal Schedules by id, against the real dev server (which has
schedules) and the time-skipping test server (which has none)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from cli.devserver import DevServer, free_port
from engine.dispatch.schedules import delete_schedule, put_schedule


@pytest.fixture(scope="module")
async def dev_client(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Client]:
    tmp = tmp_path_factory.mktemp("temporal-schedules")
    dev = DevServer(None, port=free_port(), ui_port=None, log_file=tmp / "temporal.log")
    client = await dev.start()
    try:
        yield client
    finally:
        dev.stop()


def paused_schedule(cron: str) -> Schedule:
    """A schedule that never fires (paused), its cron readable back from the note."""
    return Schedule(
        action=ScheduleActionStartWorkflow("NoSuchWorkflow", id="never", task_queue="none"),
        spec=ScheduleSpec(cron_expressions=[cron], time_zone_name="Asia/Shanghai"),
        state=ScheduleState(paused=True, note=f"cron {cron}"),
    )


@pytest.mark.e2e
async def test_put_creates_then_replaces_and_delete_removes_once(dev_client: Client) -> None:
    assert await put_schedule(dev_client, "t:weekly", paused_schedule("0 10 * * 1")) == "created"
    assert await put_schedule(dev_client, "t:weekly", paused_schedule("30 9 * * *")) == "updated"

    described = await dev_client.get_schedule_handle("t:weekly").describe()
    assert described.schedule.state.note == "cron 30 9 * * *"  # replaced, not kept
    assert described.schedule.state.paused

    assert await delete_schedule(dev_client, "t:weekly") is True
    with pytest.raises(RPCError) as missing:
        await dev_client.get_schedule_handle("t:weekly").describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND
    assert await delete_schedule(dev_client, "t:weekly") is False  # already gone


async def test_a_server_without_schedules_has_none_to_delete(
    time_env: WorkflowEnvironment,
) -> None:
    assert await delete_schedule(time_env.client, "t:anything") is False
    with pytest.raises(RPCError) as unsupported:
        await put_schedule(time_env.client, "t:anything", paused_schedule("0 10 * * 1"))
    assert unsupported.value.status == RPCStatusCode.UNIMPLEMENTED
