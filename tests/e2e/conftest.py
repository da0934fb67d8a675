"""The whole stack for end-to-end tests: the real Temporal dev server (a subprocess),
a worker, the API served by uvicorn, provider simulators pushing receipts over HTTP."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from temporalio.client import Client
from temporalio.worker import Worker

from activities.channels.registry import build_adapters
from api.app import create_app
from cli.devserver import DevServer, free_port
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from engine.store.sql import SqlStore
from simulators import ProviderSimulators
from tests.db import migrated_database
from worker import build_worker

WORKSPACE = Path(__file__).parent / "workspace"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "eye-clinic"


@dataclass
class Stack:
    client: Client
    store: SqlStore
    sims: ProviderSimulators
    dispatcher: Dispatcher
    http: httpx.AsyncClient
    keys: dict[str, str]
    task_queue: str
    worker: Worker | None = None
    worker_run: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return str(self.http.base_url).rstrip("/")

    def headers(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    async def start_worker(self) -> None:
        adapters = build_adapters(self.sims.channel_settings())
        self.worker = build_worker(self.client, self.store, adapters, self.task_queue)
        self.worker_run = asyncio.create_task(self.worker.run())

    async def stop_worker(self) -> None:
        assert self.worker is not None and self.worker_run is not None
        await self.worker.shutdown()
        await self.worker_run
        self.worker = self.worker_run = None

    async def track(self, customer: dict[str, Any], event: str, **props: Any) -> httpx.Response:
        body = {
            "customer": customer,
            "event": event,
            "properties": props,
            "message_id": uuid.uuid4().hex,
        }
        return await self.http.post("/v1/track", json=body, headers=self.headers("ingest"))

    async def settle(self, enrollment_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait (real time) until the enrollment has ended; its API view."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            view = (
                await self.http.get(f"/v1/enrollments/{enrollment_id}", headers=self.headers())
            ).json()
            if view["status"] != "running" or loop.time() > deadline:
                return dict(view)
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database(tmp_path_factory.mktemp("e2e-db")) as url:
        yield url


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory, database: str) -> AsyncIterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    dev = DevServer(
        tmp / "temporal.db", port=free_port(), ui_port=None, log_file=tmp / "temporal.log"
    )
    client = await dev.start()
    store = SqlStore(database)
    settings = Settings()
    port = free_port()
    with ProviderSimulators(settings.channels) as sims:
        sims.wechat.configure(callback_url=f"http://127.0.0.1:{port}/callbacks/wechat")
        sims.sms.configure(callback_url=f"http://127.0.0.1:{port}/callbacks/tencent-sms")
        task_queue = f"e2e-{uuid.uuid4().hex[:6]}"
        dispatcher = Dispatcher(client, store, task_queue)
        dispatcher.deploy(WORKSPACE)
        dispatcher.deploy(EXAMPLES)  # the README's demo runs on the example workspace
        now = datetime.now(UTC)
        keys = {
            "admin": store.create_api_key("e2e admin", ["admin"], [], at=now)[1],
            "ingest": store.create_api_key("e2e crm", ["ingest"], [], at=now)[1],
            "staff": store.create_api_key("e2e sz", ["staff"], ["sz-01"], at=now)[1],
        }
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(store, dispatcher, settings),
                host="127.0.0.1",
                port=port,
                log_level="warning",
            )
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            s = Stack(client, store, sims, dispatcher, http, keys, task_queue)
            await s.start_worker()
            try:
                yield s
            finally:
                if s.worker is not None:
                    await s.stop_worker()
                server.should_exit = True
                await serving
    store.close()
    dev.stop()


ROOT = EXAMPLES.parents[1]  # the checkout, where ``python -m uvicorn`` finds api.main


class ApiProcess:
    """``uvicorn --factory api.main:app`` on a port of its own: started, awaited until
    ``/readyz`` answers 200 (database, Temporal and a polling worker), stopped."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.env, self.log_file, self.port = env, log_file, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    async def start(self, timeout: float = 90.0) -> None:
        command = [
            *(sys.executable, "-m", "uvicorn", "--factory", "api.main:app"),
            *("--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"),
        ]
        with open(self.log_file, "ab") as out:
            self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            while True:
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"the API did not become ready:\n{self.log()[-3000:]}")
                await asyncio.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM (uvicorn finishes the requests in hand), SIGKILL after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
