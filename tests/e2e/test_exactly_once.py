"""Exactly one provider call per idempotency key, even when the worker dies mid-call.

The worker runs as a process of its own (``python -m worker``, configured through the
CAREPATH_* variables an operator sets) so the test can SIGKILL it while the SMS
simulator holds the answer to a message it has already accepted: the activity never
completes, Temporal retries it once the start-to-close timeout of ``send_channel``
(``workflows/policies.py``: 60 s) has passed, and the retry, run by a fresh worker,
must find the delivery stored before the call and not call the provider again.
The first test therefore takes a little over a minute.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from cli.devserver import DevServer, free_port
from engine.dispatch.dispatcher import Dispatcher
from engine.store import DeliveryRecord
from engine.store.records import Identities
from engine.store.sql import SqlStore
from engine.store.sql.tables import DeliveryRow
from simulators import ProviderSimulators
from tests.db import migrated_database
from tests.factories import workspace

pytestmark = [pytest.mark.e2e, pytest.mark.db]

ROOT = Path(__file__).resolve().parents[2]

MESSAGE = {
    "id": "reminder",
    "purpose": "service",
    "sms": {
        "template_id": "1234567",
        "sign_name": "某某眼科",
        "text": "{1}您好,您的{2}待确认。",
        "params": ["{{ customer.name | default('您') }}", "{{ context.item | default('预约') }}"],
    },
}
JOURNEYS = [
    {
        # An SMS whose answer is lost with the worker: the retry's outcome is unknown,
        # which awaits no receipt here, so the step fails over to ``unconfirmed``.
        "id": "kill_send",
        "trigger": {"api": True},
        "steps": [
            {
                "id": "remind",
                "send": {"message": "reminder", "channels": ["sms"]},
                "on_failure": "unconfirmed",
            },
            {"id": "sent", "exit": "sent"},
            {"id": "unconfirmed", "exit": "unconfirmed"},
        ],
    },
    {
        # An SMS, then a timer the worker is restarted during: the new worker replays
        # the history (send included) before it can act on the timer.
        "id": "replay_send",
        "trigger": {"api": True},
        "steps": [
            {"id": "remind", "send": {"message": "reminder", "channels": ["sms"]}},
            {"id": "pause", "wait": {"duration": "3s"}},
            {"id": "done", "exit": "sent"},
        ],
    },
]


class WorkerProcess:
    """``python -m worker`` as a child process: started, awaited until it polls, stopped."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.env, self.log_file = env, log_file
        self.process: subprocess.Popen[bytes] | None = None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    async def start(self, timeout: float = 60.0) -> None:
        with open(self.log_file, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "worker"], env=self.env, cwd=ROOT, stdout=out, stderr=out
            )
        deadline = time.monotonic() + timeout
        while "carepath worker on" not in self.log():  # printed once it polls
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"the worker did not start:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no activity completion, no goodbye to Temporal."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM (the worker finishes the tasks in hand), SIGKILL after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class World:
    client: Client
    store: SqlStore
    database: str
    sims: ProviderSimulators
    dispatcher: Dispatcher
    env: dict[str, str]
    tmp: Path
    workers: list[WorkerProcess]

    async def worker(self) -> WorkerProcess:
        """A new worker process (stopped by the fixture, whatever happens)."""
        worker = WorkerProcess(self.env, self.tmp / f"worker-{uuid.uuid4().hex[:6]}.log")
        self.workers.append(worker)
        await worker.start()
        return worker

    async def enroll(self, journey_id: str, phone: str) -> WorkflowHandle[Any, Any]:
        customer_id = self.store.resolve(Identities(phone=phone), at=datetime.now(UTC)).customer_id
        _, enrolled = await self.dispatcher.enroll_api(
            journey_id, Identities(customer_id=customer_id), {}
        )
        assert enrolled.status == "started" and enrolled.handle is not None, enrolled
        return enrolled.handle

    def deliveries(self, enrollment_id: str) -> list[DeliveryRecord]:
        """The delivery records of an enrollment, read straight from the table."""
        engine = create_engine(self.database)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(DeliveryRow).where(DeliveryRow.enrollment_id == enrollment_id)
                ).mappings()
                return [DeliveryRecord.model_validate(dict(r)) for r in rows]
        finally:
            engine.dispose()

    def sms_to(self, phone: str) -> int:
        return sum(1 for m in self.sims.sms.messages if m.recipient == phone)


@pytest.fixture(scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("exactly-once")
    root = workspace(tmp / "workspace", JOURNEYS, [MESSAGE])
    dev = DevServer(
        tmp / "temporal.db", port=free_port(), ui_port=None, log_file=tmp / "temporal.log"
    )
    with migrated_database(tmp / "db") as database, ProviderSimulators() as sims:
        client = await dev.start()
        store = SqlStore(database)
        task_queue = f"once-{uuid.uuid4().hex[:6]}"
        dispatcher = Dispatcher(client, store, task_queue)
        dispatcher.deploy(root)
        env = {
            **os.environ,
            "CAREPATH_DATABASE__URL": database,
            "CAREPATH_TEMPORAL__ADDRESS": dev.address,
            "CAREPATH_TEMPORAL__TASK_QUEUE": task_queue,
            "CAREPATH_CHANNELS": sims.channel_settings().model_dump_json(),
        }
        try:
            yield World(client, store, database, sims, dispatcher, env, tmp, [])
        finally:
            store.close()
            dev.stop()


@pytest.fixture
async def world(shared: World) -> AsyncIterator[World]:
    """The shared stack; the worker processes a test starts end with it."""
    try:
        yield shared
    finally:
        for worker in shared.workers:
            worker.kill()
        shared.workers.clear()


def phone() -> str:
    return f"+86139{uuid.uuid4().int % 10**8:08d}"


async def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def send_activity_events(handle: WorkflowHandle[Any, Any]) -> dict[str, list[Any]]:
    """The send_channel activity events of the workflow's history, by kind."""
    history = await handle.fetch_history()
    out: dict[str, list[Any]] = {"scheduled": [], "started": [], "completed": [], "timed_out": []}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == "send_channel":
                out["scheduled"].append(attrs)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            out["started"].append(event.activity_task_started_event_attributes)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            out["completed"].append(event.activity_task_completed_event_attributes)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            out["timed_out"].append(event.activity_task_timed_out_event_attributes)
    return out


async def test_worker_killed_during_the_provider_call_sends_once(world: World) -> None:
    number = phone()
    # The simulator records the message when the request arrives, then holds the
    # answer: the provider has the SMS, the worker does not know it yet.
    world.sims.sms.configure(per_recipient={number: {"result": "slow:8", "receipt": "none"}})
    calls_before = world.sims.sms.call_count("/")
    first = await world.worker()
    handle = await world.enroll("kill_send", number)
    await eventually(lambda: world.sms_to(number) == 1, 30, "the SMS to reach the simulator")
    first.kill()  # mid-call: the activity's answer never reaches Temporal

    (calling,) = world.deliveries(handle.id)  # stored before the call
    assert calling.status == "calling"
    assert calling.key == f"{handle.id}:remind:sms:1.0"  # enrollment:step:channel:visit.try

    await world.worker()  # Temporal retries once the 60 s start-to-close timeout passes
    result = await asyncio.wait_for(handle.result(), timeout=120)

    assert world.sms_to(number) == 1  # one SMS ...
    assert world.sims.sms.call_count("/") - calls_before == 1  # ... from one provider call
    assert result.status == "completed" and result.exit_reason == "unconfirmed"
    events = await send_activity_events(handle)
    assert len(events["scheduled"]) == 1 and not events["timed_out"]
    assert [e.attempt for e in events["started"]] == [2]  # the retry completed the activity
    (delivery,) = world.deliveries(handle.id)  # still the one record, never ended
    assert delivery.key == calling.key and delivery.provider_ref is None
    trace = world.store.get_trace(handle.id)
    attempts = [(e.channel, e.outcome, e.detail) for e in trace if e.kind == "attempt"]
    assert attempts == [("sms", "unknown", "earlier attempt outcome unknown")]


async def test_replayed_workflow_does_not_send_again(world: World) -> None:
    number = phone()
    calls_before = world.sims.sms.call_count("/")
    first = await world.worker()
    handle = await world.enroll("replay_send", number)

    async def send_completed() -> bool:
        return bool((await send_activity_events(handle))["completed"])

    deadline = time.monotonic() + 30
    while not await send_completed():
        assert time.monotonic() < deadline, "the send did not complete"
        await asyncio.sleep(0.1)
    first.stop()  # cleanly, during the 3 s timer
    await world.worker()  # a new process: no cache, it replays the send from history
    result = await asyncio.wait_for(handle.result(), timeout=60)

    assert result.status == "completed" and result.exit_reason == "sent"
    assert world.sms_to(number) == 1
    assert world.sims.sms.call_count("/") - calls_before == 1
    (delivery,) = world.deliveries(handle.id)
    assert delivery.status == "done" and delivery.outcome == "accepted"
    events = await send_activity_events(handle)
    assert len(events["scheduled"]) == 1 and [e.attempt for e in events["started"]] == [1]
