"""A scheduled journey on the real dev server: the schedule that deploy creates (paused
with the journey), and a tick over a segment of a few thousand customers enrolled in
batches, with the worker process SIGKILLed midway and started again. Afterwards
every member has exactly one enrollment for that tick and nobody has two.

The worker runs as a process of its own (``python -m worker``) so it can be killed
in the middle of a batch; the tick's slice activity is then retried by the new
worker once its heartbeat timeout (15 s) has passed, from the last heartbeat's cursor.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    ScheduleActionExecutionStartWorkflow,
    ScheduleOverlapPolicy,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from api.app import create_app
from cli.devserver import DevServer, free_port
from engine.contracts.ticks import TickProgress
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.journey_schedules import schedule_id
from engine.settings import Settings
from engine.store.sql import SqlStore
from engine.store.sql.tables import CustomerRow, EnrollmentRow
from tests.db import migrated_database
from tests.e2e.test_exactly_once import WorkerProcess
from tests.factories import workspace

pytestmark = [pytest.mark.e2e, pytest.mark.db]

MEMBERS = 2000
OTHERS = 100
JOURNEY = "weekly_lens_check"
SEGMENT = {"id": "ok_lens_wearers", "rule": {"attribute": "lens", "eq": "orthok"}}
JOURNEYS = [
    {
        "id": JOURNEY,
        "trigger": {"schedule": {"cron": "0 10 * * 1", "segment": "ok_lens_wearers"}},
        # A long first wait keeps each enrollment cheap: one workflow task and a timer.
        "steps": [{"id": "later", "wait": {"duration": "30d"}}, {"id": "done", "exit": "done"}],
    },
    {
        "id": "daily_local",
        "trigger": {
            "schedule": {"cron": "30 9 * * *", "segment": "ok_lens_wearers", "timezone": "customer"}
        },
        "steps": [{"id": "done", "exit": "done"}],
    },
]


@dataclass
class World:
    client: Client
    store: SqlStore
    dispatcher: Dispatcher
    env: dict[str, str]
    tmp: Path
    task_queue: str
    workers: list[WorkerProcess]

    async def worker(self) -> WorkerProcess:
        worker = WorkerProcess(self.env, self.tmp / f"worker-{uuid.uuid4().hex[:6]}.log")
        self.workers.append(worker)
        await worker.start()
        return worker

    def enrollments(self) -> tuple[int, int]:
        """(enrollments of the journey, distinct customers among them), from the table."""
        stmt = select(func.count(), func.count(EnrollmentRow.customer_id.distinct())).where(
            EnrollmentRow.journey_id == JOURNEY
        )
        with self.store._db.read() as s, s.begin():
            total, customers = s.execute(stmt).one()
        return int(total), int(customers)


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("scheduled")
    root = workspace(tmp / "workspace", JOURNEYS, segments=[SEGMENT])
    dev = DevServer(
        tmp / "temporal.db", port=free_port(), ui_port=None, log_file=tmp / "temporal.log"
    )
    with migrated_database(tmp / "db") as database:
        client = await dev.start()
        store = SqlStore(database)
        # Customers as a bulk import writes them: straight into the table.
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = [
            {"id": f"c-{i:05d}", "attributes": {"lens": "orthok"}, "created_at": now}
            for i in range(MEMBERS)
        ] + [
            {"id": f"o-{i:05d}", "attributes": {"lens": "frame"}, "created_at": now}
            for i in range(OTHERS)
        ]
        with store._db.write() as s, s.begin():
            s.execute(insert(CustomerRow), rows)
        task_queue = f"sched-{uuid.uuid4().hex[:6]}"
        dispatcher = Dispatcher(client, store, task_queue)
        dispatcher.deploy(root)
        env = {
            **os.environ,
            "CAREPATH_DATABASE__URL": database,
            "CAREPATH_TEMPORAL__ADDRESS": dev.address,
            "CAREPATH_TEMPORAL__TASK_QUEUE": task_queue,
        }
        world = World(client, store, dispatcher, env, tmp, task_queue, [])
        try:
            yield world
        finally:
            for worker in world.workers:
                worker.kill()
            store.close()
            dev.stop()


async def test_deploy_creates_the_schedules_and_pause_pauses_them(world: World) -> None:
    synced = await world.dispatcher.sync_schedules()
    assert sorted(synced.created + synced.updated) == ["daily_local", JOURNEY]

    weekly = await world.client.get_schedule_handle(schedule_id(JOURNEY)).describe()
    assert weekly.schedule.spec.time_zone_name == "Asia/Shanghai"  # the workspace's zone
    assert weekly.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert weekly.schedule.policy.catchup_window == timedelta(minutes=10)
    assert not weekly.schedule.state.paused
    nxt = weekly.info.next_action_times[0].astimezone(UTC)
    assert (nxt.weekday(), nxt.hour, nxt.minute) == (0, 2, 0)  # Mondays 10:00 +08:00
    # timezone: customer runs hourly at the cron's minute, in UTC.
    local = await world.client.get_schedule_handle(schedule_id("daily_local")).describe()
    assert local.schedule.spec.time_zone_name == "UTC"
    times = [t.astimezone(UTC) for t in local.info.next_action_times[:3]]
    assert [t.minute for t in times] == [30, 30, 30]
    assert times[1] - times[0] == timedelta(hours=1)

    world.store.set_paused("daily_local", True)
    await world.dispatcher.sync_schedules(["daily_local"])
    paused = await world.client.get_schedule_handle(schedule_id("daily_local")).describe()
    assert paused.schedule.state.paused

    again = await world.dispatcher.sync_schedules()  # a redeploy: updated, not duplicated
    assert sorted(again.updated) == ["daily_local", JOURNEY] and not again.created

    # A journey that no longer has a schedule trigger loses its schedule.
    changed = [JOURNEYS[0], {**JOURNEYS[1], "trigger": {"api": True}}]
    root = workspace(world.tmp / "workspace-2", changed, segments=[SEGMENT])
    await asyncio.to_thread(world.dispatcher.deploy, root, "daily_local")
    gone = await world.dispatcher.sync_schedules(["daily_local"])
    assert gone.deleted == ["daily_local"]
    with pytest.raises(RPCError) as missing:
        await world.client.get_schedule_handle(schedule_id("daily_local")).describe()
    assert missing.value.status == RPCStatusCode.NOT_FOUND


async def test_a_tick_survives_a_worker_killed_midway_and_enrolls_everyone_once(
    world: World,
) -> None:
    await world.dispatcher.sync_schedules([JOURNEY])
    first = await world.worker()
    schedule = world.client.get_schedule_handle(schedule_id(JOURNEY))
    await schedule.trigger()  # a tick now, as at 10:00 on a Monday
    handle = await _tick_handle(world.client, schedule_id(JOURNEY))
    assert handle.id.startswith(f"journey-tick:{JOURNEY}-")  # + the tick's time

    # Kill the worker in the middle of the tick: some batches done, most not.
    await _eventually(lambda: world.enrollments()[0] >= 450, 240, "the first batches")
    first.kill()
    before_restart, _ = world.enrollments()
    assert before_restart < MEMBERS

    await world.worker()
    result = await asyncio.wait_for(handle.result(), timeout=420)  # a safety net only

    assert isinstance(result, TickProgress)
    assert result.status == "done" and result.enrolled == MEMBERS and result.skipped == 0
    assert world.enrollments() == (MEMBERS, MEMBERS)  # everyone once, nobody twice
    with world.store._db.read() as s, s.begin():
        keys = set(s.scalars(select(EnrollmentRow.key).where(EnrollmentRow.journey_id == JOURNEY)))
        members = set(
            s.scalars(select(EnrollmentRow.customer_id).where(EnrollmentRow.journey_id == JOURNEY))
        )
    assert len(keys) == 1 and next(iter(keys)).startswith("tick:")
    assert members == {f"c-{i:05d}" for i in range(MEMBERS)}
    # Temporal agrees: one journey workflow per member (ids carry the tick's key).
    query = f'WorkflowType = "JourneyWorkflow" AND TaskQueue = "{world.task_queue}"'
    await _eventually_async(
        lambda: _count(world.client, query), MEMBERS, 30, "Temporal's visibility to catch up"
    )
    # The slice in hand when the worker died ran again on the new worker, from the
    # cursor of its last heartbeat.
    assert max(await _slice_attempts(handle)) >= 2
    assert result.resumed == 1

    # The API shows the tick's figures.
    app = create_app(world.store, world.dispatcher, Settings())
    secret = world.store.create_api_key("e2e", ["admin"], [], at=datetime.now(UTC))[1]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://carepath.test") as http:
        runs = await http.get(
            f"/v1/journeys/{JOURNEY}/runs", headers={"Authorization": f"Bearer {secret}"}
        )
    assert runs.status_code == 200, runs.text
    (tick,) = runs.json()["ticks"]
    assert tick["status"] == "done" and tick["enrolled"] == MEMBERS and tick["skipped"] == 0
    assert tick["workflow_id"] == handle.id and runs.json()["segment"] == "ok_lens_wearers"


async def _tick_handle(client: Client, sid: str) -> WorkflowHandle[Any, TickProgress]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = (await client.get_schedule_handle(sid).describe()).info
        for action in [*info.running_actions, *(a.action for a in info.recent_actions)]:
            if isinstance(action, ScheduleActionExecutionStartWorkflow):
                return client.get_workflow_handle(action.workflow_id, result_type=TickProgress)
        await asyncio.sleep(0.2)
    raise AssertionError("the schedule started no tick")


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


async def _slice_attempts(handle: WorkflowHandle[Any, Any]) -> list[int]:
    history = await handle.fetch_history()
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]


async def _eventually(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _eventually_async(get: Any, expected: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while (found := await get()) != expected:
        if found > expected:
            raise AssertionError(f"{found} journey workflows, expected {expected}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {found} != {expected}")
        await asyncio.sleep(0.5)
