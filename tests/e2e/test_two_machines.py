"""Beyond one machine: two API processes and two worker processes share one Temporal
server and one PostgreSQL database, and a worker killed mid-traffic loses nothing.

Each part runs as an operator runs it on a machine of its own, configured only through
``CAREPATH_*`` variables: ``uvicorn --factory api.main:app`` twice (two ports) and
``python -m worker`` twice, against the Temporal dev server and a schema of its own in
the PostgreSQL database ``test`` on 127.0.0.1:5432 (skipped when PostgreSQL cannot be
reached; CI has it). The SMS simulator pushes its receipts to the first API, with the
callback token in the URL as registered with Tencent.

Customers are enrolled through both APIs, half by an event (``POST /v1/track``) and
half by ``POST /v1/journeys/{id}/enrollments``; each journey sends an SMS (awaiting its
receipt), waits for a reply event sent through the *other* API, hands off to staff
(completed through either API), sends a second SMS and exits. Once every enrollment
waits for its reply, the replies go in and a worker that has run enrollments is
SIGKILLed as soon as the first handoff task appears: its cached workflows and any task
it held move to the surviving worker (after Temporal's sticky and task timeouts), which
finishes every enrollment. Each customer gets exactly one SMS per send step, from one
provider call each. A worker killed in the middle of a provider call is
``test_exactly_once.py``'s case.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from cli.devserver import DevServer, free_port
from engine.dispatch.dispatcher import Dispatcher
from engine.store.sql import SqlStore
from simulators import ProviderSimulators
from tests.db import ENV
from tests.e2e.conftest import ApiProcess
from tests.e2e.test_exactly_once import WorkerProcess
from tests.factories import workspace
from tests.scratch import scratch_database

pytestmark = [pytest.mark.e2e]

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
QUEUE = "two_machines"
EACH = 4  # customers per kind of enrollment (event, API)

MESSAGES = [
    {
        "id": "visit_notice",
        "purpose": "service",
        "sms": {
            "template_id": "2001",
            "sign_name": "某某眼科",
            "text": "{1}您好,您的{2}已登记,请回复确认。",
            "params": [
                "{{ customer.name | default('您') }}",
                "{{ context.item | default('复查') }}",
            ],
        },
    },
    {
        "id": "visit_thanks",
        "purpose": "service",
        "sms": {
            "template_id": "2002",
            "sign_name": "某某眼科",
            "text": "{1}您好,您的复查已安排。",
            "params": ["{{ customer.name | default('您') }}"],
        },
        "phone": {"script": "请联系{{ customer.name | default('客户') }}安排复查"},
    },
]
STEPS = [
    {
        "id": "notify",
        "send": {"message": "visit_notice", "channels": ["sms"], "receipt_timeout": "5m"},
    },
    {
        "id": "reply",
        "wait_for": {"event": "visit.confirmed", "timeout": "30m"},
        "on_event": "call",
        "on_timeout": "missed",
    },
    {
        "id": "call",
        "handoff": {
            "queue": QUEUE,
            "message": "visit_thanks",
            "due": "1h",
            "outcomes": {"booked": "thank"},
        },
    },
    {
        "id": "thank",
        "send": {"message": "visit_thanks", "channels": ["sms"], "receipt_timeout": "5m"},
    },
    {"id": "done", "exit": "booked"},
    {"id": "missed", "exit": "missed"},
]
JOURNEYS = [
    {"id": "visit_booked", "trigger": {"event": "visit.booked"}, "steps": STEPS},
    {"id": "visit_recall", "trigger": {"api": True}, "steps": STEPS},
]


def postgres_url() -> str:
    """The PostgreSQL server of the database tests, or the local one CI provides."""
    configured = os.environ.get(ENV, "")
    return configured if configured.startswith("postgresql") else POSTGRES


def reachable(url: str) -> bool:
    engine = create_engine(make_url(url).update_query_dict({"connect_timeout": "3"}))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False
    finally:
        engine.dispose()


@dataclass
class Cluster:
    client: Client
    sims: ProviderSimulators
    apis: list[httpx.AsyncClient]
    workers: list[WorkerProcess]
    keys: dict[str, str]
    logs: list[Path] = field(default_factory=list)

    def headers(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def sms_to(self, phone: str) -> list[str]:
        """The template ids of the SMS the provider accepted for ``phone``."""
        return [
            str(m.content["template_id"]) for m in self.sims.sms.messages if m.recipient == phone
        ]

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in self.logs
            if p.exists()
        )


@dataclass
class Customer:
    phone: str
    entry: int  # index of the API that enrolls it; replies go through the other one
    enrollment_id: str = ""


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    url = postgres_url()
    if not reachable(url):
        pytest.skip(f"PostgreSQL is not reachable at {make_url(url).render_as_string()}")
    root = workspace(tmp_path / "workspace", JOURNEYS, MESSAGES)
    dev = DevServer(
        tmp_path / "temporal.db", port=free_port(), ui_port=None, log_file=tmp_path / "t.log"
    )
    with (
        scratch_database(tmp_path / "unused.db", url, "two_machines") as database,
        ProviderSimulators() as sims,
    ):
        client = await dev.start()
        try:
            async with serving(client, dev, database, sims, root, tmp_path) as cluster:
                yield cluster
        finally:
            dev.stop()


@asynccontextmanager
async def serving(
    client: Client,
    dev: DevServer,
    database: str,
    sims: ProviderSimulators,
    root: Path,
    tmp_path: Path,
) -> AsyncIterator[Cluster]:
    """Deploy, make keys, then run two workers and two APIs until the test is done."""
    store = SqlStore(database)
    queue = f"two-{uuid.uuid4().hex[:6]}"
    Dispatcher(client, store, queue).deploy(root)
    now = datetime.now(UTC)
    keys = {
        "admin": store.create_api_key("e2e admin", ["admin"], [], at=now)[1],
        "ingest": store.create_api_key("e2e crm", ["ingest"], [], at=now)[1],
    }
    store.close()  # from here on only the processes touch the database
    env = {
        **os.environ,
        "CAREPATH_DATABASE__URL": database,
        "CAREPATH_TEMPORAL__ADDRESS": dev.address,
        "CAREPATH_TEMPORAL__TASK_QUEUE": queue,
        "CAREPATH_CHANNELS": sims.channel_settings().model_dump_json(),
    }
    workers = [WorkerProcess(env, tmp_path / f"worker-{i}.log") for i in (1, 2)]
    apis = [ApiProcess(env, tmp_path / f"api-{i}.log") for i in (1, 2)]
    sims.sms.configure(callback_url=f"{apis[0].url}/callbacks/tencent-sms")
    try:
        # Workers first: an API is ready only once a worker polls the task queue.
        await asyncio.gather(*(w.start() for w in workers))
        await asyncio.gather(*(a.start() for a in apis))
        async with (
            httpx.AsyncClient(base_url=apis[0].url, timeout=30) as first,
            httpx.AsyncClient(base_url=apis[1].url, timeout=30) as second,
        ):
            logs = [w.log_file for w in workers] + [a.log_file for a in apis]
            yield Cluster(client, sims, [first, second], workers, keys, logs)
    finally:
        for api in apis:
            api.stop()
        for worker in workers:
            worker.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, cluster: Cluster
) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds with the logs."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{cluster.log_tails()}")
        await asyncio.sleep(0.25)


async def enroll(c: Cluster, number: int) -> Customer:
    """Customer ``number``: even ones by an event, odd ones through the enrollment
    route; both kinds through both APIs."""
    customer = Customer(phone=f"+86139{uuid.uuid4().int % 10**8:08d}", entry=(number // 2) % 2)
    api = c.apis[customer.entry]
    who = {"phone": customer.phone}
    if number % 2 == 0:
        body = {
            "customer": who,
            "event": "visit.booked",
            "properties": {"item": "角膜塑形镜复查"},
            "message_id": uuid.uuid4().hex,
        }
        r = await api.post("/v1/track", json=body, headers=c.headers("ingest"))
        assert r.status_code == 202 and r.json()["enrolled"] == ["visit_booked:started"], r.text
        cid = r.json()["accepted"][0]["customer_id"]
        customer.enrollment_id = f"journey:visit_booked:customer:{cid}"
        return customer
    body = {"customer": who, "attributes": {"name": f"顾客{number}"}}
    r = await api.post("/v1/identify", json=body, headers=c.headers("ingest"))
    assert r.status_code == 200, r.text
    started = await api.post(
        "/v1/journeys/visit_recall/enrollments",
        json={"customer": {"customer_id": r.json()["customer_id"]}, "context": {"item": "复诊"}},
        headers=c.headers(),
    )
    assert started.status_code == 201, started.text
    customer.enrollment_id = started.json()["enrollment_id"]
    return customer


async def view(c: Cluster, api: int, enrollment_id: str) -> dict[str, Any]:
    r = await c.apis[api].get(f"/v1/enrollments/{enrollment_id}", headers=c.headers())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def open_tasks(c: Cluster, api: int) -> list[dict[str, Any]]:
    r = await c.apis[api].get("/v1/handoffs", params={"queue": QUEUE}, headers=c.headers())
    assert r.status_code == 200, r.text
    return list(r.json())


async def identities(c: Cluster, enrollment_id: str) -> list[str]:
    """Who completed each workflow task of the enrollment (``pid@host``), in order."""
    history = await c.client.get_workflow_handle(enrollment_id).fetch_history()
    return [
        e.workflow_task_completed_event_attributes.identity
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


def identity(worker: WorkerProcess) -> str:
    """The start of the identity a worker process gives Temporal (``pid@host``)."""
    assert worker.process is not None
    return f"{worker.process.pid}@"


async def test_two_apis_two_workers_one_killed_every_enrollment_completes_once(
    cluster: Cluster,
) -> None:
    c = cluster
    customers = [await enroll(c, n) for n in range(2 * EACH)]

    async def all_waiting_for_replies() -> bool:
        views = [await view(c, 1 - x.entry, x.enrollment_id) for x in customers]
        return all(any(e["kind"] == "wait_for" for e in v["trace"]) for v in views)

    await eventually(all_waiting_for_replies, 60, "every enrollment to wait for its reply", c)
    assert all(c.sms_to(x.phone) == ["2001"] for x in customers)

    # The worker to kill is one that has run these enrollments (its cache holds them).
    ran = [i for x in customers for i in await identities(c, x.enrollment_id)]
    victim = next(w for w in c.workers if any(i.startswith(identity(w)) for i in ran))
    survivor = next(w for w in c.workers if w is not victim)
    assert victim.process is not None

    for x in customers:  # each reply through the API that did not enroll the customer
        body = {
            "customer": {"phone": x.phone},
            "event": "visit.confirmed",
            "message_id": uuid.uuid4().hex,
        }
        r = await c.apis[1 - x.entry].post("/v1/track", json=body, headers=c.headers("ingest"))
        assert r.status_code == 202 and r.json()["signalled"] == [x.enrollment_id], r.text

    async def a_task_appeared() -> bool:
        return bool(await open_tasks(c, 0))

    await eventually(a_task_appeared, 60, "the first handoff task", c)
    victim.kill()  # SIGKILL mid-traffic: no goodbye to Temporal, tasks in hand are lost

    by_enrollment = {x.enrollment_id: x for x in customers}
    completed: set[str] = set()

    async def every_task_completed() -> bool:
        for task in await open_tasks(c, 1):
            x = by_enrollment[task["enrollment_id"]]
            r = await c.apis[x.entry].post(
                f"/v1/handoffs/{task['id']}/complete",
                json={"outcome": "booked"},
                headers=c.headers(),
            )
            assert r.status_code == 200, r.text
            completed.add(task["enrollment_id"])
        return len(completed) == len(customers)

    await eventually(every_task_completed, 90, "a handoff task per enrollment", c)

    async def all_ended() -> bool:
        views = [await view(c, x.entry, x.enrollment_id) for x in customers]
        return all(v["status"] != "running" for v in views)

    await eventually(all_ended, 60, "every enrollment to end", c)

    for x in customers:
        v = await view(c, 1 - x.entry, x.enrollment_id)
        assert (v["status"], v["exit_reason"]) == ("completed", "booked"), v
        receipts = [(e["step"], e["outcome"]) for e in v["trace"] if e["kind"] == "receipt"]
        assert receipts == [("notify", "delivered"), ("thank", "delivered")], v["trace"]
        # Exactly one SMS per send step, in order, whichever worker sent it.
        assert c.sms_to(x.phone) == ["2001", "2002"], x.phone
        # The survivor ran every enrollment to its end, the victim's included.
        assert (await identities(c, x.enrollment_id))[-1].startswith(identity(survivor))
    assert c.sims.sms.call_count("/") == 2 * len(customers)  # no provider call repeated
    assert victim.process.returncode == -signal.SIGKILL
