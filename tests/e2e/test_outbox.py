"""Temporal killed mid-traffic, then started again: everything accepted meanwhile is
delivered once it is back, exactly once.

The API keeps answering while the dev server is down: events, tags with their
request's context, handoff completions and cancels are stored and answered with
``dispatch_pending`` (never a 500). Once the server (same database file) and a worker
are back, the background workflow's sweep delivers each of them: one enrollment per
event and per tag (with the tag's context), each handoff's enrollment resumed once,
each cancelled enrollment ended with its reason.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from api.main import API_RETRY
from cli.devserver import DevServer, free_port
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from engine.store.sql import SqlStore
from simulators import ProviderSimulators
from tests.db import migrated_database
from tests.e2e.test_exactly_once import WorkerProcess
from tests.factories import workspace

pytestmark = [pytest.mark.e2e, pytest.mark.db]

JOURNEYS = [
    {
        "id": "confirm",
        "trigger": {"tag_added": "预约"},
        "key": "{{ context.appointment_id }}",
        "steps": [{"id": "done", "exit": "confirmed"}],
    },
    {
        "id": "after_visit",
        "trigger": {"event": "visit.completed"},
        "steps": [{"id": "done", "exit": "thanked"}],
    },
    {
        "id": "callback",
        "trigger": {"api": True},
        "steps": [
            {"id": "call", "handoff": {"queue": "optometrist", "outcomes": {"booked": "done"}}},
            {"id": "done", "exit": "called"},
        ],
    },
    {
        "id": "waiting",
        "trigger": {"api": True},
        "steps": [{"id": "pause", "wait": {"duration": "30d"}}, {"id": "done", "exit": "waited"}],
    },
]
EACH = 4  # customers per kind of traffic, before and while Temporal is down


class World:
    def __init__(
        self, dev: DevServer, store: SqlStore, http: httpx.AsyncClient, env: dict[str, str]
    ) -> None:
        self.dev, self.store, self.http, self.env = dev, store, http, env
        self.workers: list[WorkerProcess] = []

    async def worker(self, tmp: Path) -> WorkerProcess:
        worker = WorkerProcess(self.env, tmp / f"worker-{uuid.uuid4().hex[:6]}.log")
        self.workers.append(worker)
        await worker.start()
        return worker

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        r = await self.http.post(path, json=body)
        assert r.status_code < 500, r.text  # never a 500 after a write
        return r


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    root = workspace(tmp_path / "workspace", JOURNEYS)
    dev = DevServer(
        tmp_path / "temporal.db", port=free_port(), ui_port=None, log_file=tmp_path / "t.log"
    )
    with migrated_database(tmp_path / "db") as database, ProviderSimulators() as sims:
        await dev.start()
        # The API's own client: it gives up on an unreachable server within about two
        # seconds and answers dispatch_pending (the SDK's default retries for ten).
        client = await Client.connect(
            dev.address, data_converter=pydantic_data_converter, retry_config=API_RETRY
        )
        store = SqlStore(database)
        queue = f"outbox-{uuid.uuid4().hex[:6]}"
        dispatcher = Dispatcher(client, store, queue)
        dispatcher.deploy(root)
        _, secret = store.create_api_key("e2e admin", ["admin"], [], at=datetime.now(UTC))
        env = {
            **os.environ,
            "CAREPATH_DATABASE__URL": database,
            "CAREPATH_TEMPORAL__ADDRESS": dev.address,
            "CAREPATH_TEMPORAL__TASK_QUEUE": queue,
            "CAREPATH_CHANNELS": sims.channel_settings().model_dump_json(),
        }
        app = create_app(store, dispatcher, Settings())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://carepath.test",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=60,
        ) as http:
            w = World(dev, store, http, env)
            try:
                yield w
            finally:
                for worker in w.workers:
                    worker.kill()
                store.close()
                dev.stop()


async def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def traffic(w: World, tag: str, n: int) -> dict[str, list[str]]:
    """Identify customers with events and tags (with context); their ids by kind."""
    out: dict[str, list[str]] = {"event": [], "tag": []}
    for i in range(n):
        phone = f"+86138{uuid.uuid4().int % 10**8:08d}"
        r = await w.post(
            "/v1/identify",
            {"customer": {"phone": phone}, "tags": ["预约"], "context": {"appointment_id": tag}},
        )
        out["tag"].append(r.json()["customer_id"])
        event = {
            "customer": {"phone": phone},
            "event": "visit.completed",
            "message_id": f"{tag}-{i}",
        }
        r = await w.post("/v1/track", event)
        assert r.status_code == 202
        # The same event again: stored and acted on once.
        assert (await w.post("/v1/track", event)).json()["accepted"][0]["duplicate"] is True
        out["event"].append(r.json()["accepted"][0]["customer_id"])
    return out


async def test_what_is_accepted_while_temporal_is_down_is_delivered_once(
    world: World, tmp_path: Path
) -> None:
    w, store = world, world.store
    first = await w.worker(tmp_path)
    calls, waits = [], []
    for _ in range(EACH):
        for journey, into in (("callback", calls), ("waiting", waits)):
            phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
            cid = (await w.post("/v1/identify", {"customer": {"phone": phone}})).json()[
                "customer_id"
            ]
            r = await w.post(
                f"/v1/journeys/{journey}/enrollments", {"customer": {"customer_id": cid}}
            )
            assert r.status_code == 201, r.text
            into.append(r.json()["enrollment_id"])
    await eventually(lambda: len(store.list_open_tasks()) == EACH, 60, "the handoff tasks")
    before = await traffic(w, "A-before", EACH)

    # Temporal and the worker die mid-traffic; the API keeps accepting.
    first.kill()
    assert w.dev.process is not None
    w.dev.process.kill()
    w.dev.process.wait()
    during = await traffic(w, "A-during", EACH)
    for task in store.list_open_tasks():
        r = await w.post(f"/v1/handoffs/{task.id}/complete", {"outcome": "booked"})
        assert (r.status_code, r.json()["dispatch_pending"]) == (202, True), r.text
    for enrollment_id in waits:
        r = await w.post(f"/v1/enrollments/{enrollment_id}/cancel", {"reason": "moved away"})
        assert (r.status_code, r.json()["dispatch_pending"]) == (202, True), r.text
    assert store.list_open_tasks() == []

    await w.dev.start()  # the same database file: the histories are still there
    await w.worker(tmp_path)  # its background workflow sweeps every few seconds

    def delivered() -> bool:
        ended = [store.get_enrollment(e).status != "running" for e in calls + waits]
        started = [
            store.list_enrollments(customer_id=c, journey_id=j)
            for ids, j in ((before["tag"] + during["tag"], "confirm"),
                           (before["event"] + during["event"], "after_visit"))
            for c in ids
        ]  # fmt: skip
        return all(ended) and all(started)

    await eventually(delivered, 120, "the sweep to deliver what was accepted meanwhile")
    await asyncio.sleep(12)  # another sweep or two: nothing is delivered twice
    for ids, stamp in ((before["tag"], "A-before"), (during["tag"], "A-during")):
        for cid in ids:
            (one,) = store.list_enrollments(customer_id=cid, journey_id="confirm")
            assert one.key == stamp  # started with its request's context
    for cid in before["event"] + during["event"]:
        assert len(store.list_enrollments(customer_id=cid, journey_id="after_visit")) == 1
    for enrollment_id in calls:
        record = store.get_enrollment(enrollment_id)
        assert (record.status, record.exit_reason) == ("completed", "called")
        outcomes = [e.outcome for e in store.get_trace(enrollment_id) if e.kind == "handoff"]
        assert outcomes == ["created", "booked"]
    for enrollment_id in waits:
        record = store.get_enrollment(enrollment_id)
        assert (record.status, record.exit_reason) == ("exited", "moved away")
    r = await w.http.get("/v1/outbox", params={"min_age": 0})
    assert r.json()["items"] == []
