"""The whole carepath stack on one machine, for the benchmarks.

As in production, each part is a process of its own: a Temporal dev server (SQLite
file with WAL pragmas, headless) in a temporary folder, the worker (``bench.worker``:
``python -m worker`` with the yardstick workflows of ``bench.handwritten`` registered
beside ``JourneyWorkflow``, so every measurement of a run uses the same server and
worker), the API (``uvicorn --factory api.main:app``), and this process, the load
driver, which also runs the provider simulators and holds a store, a Temporal client
and a lean HTTP client (``bench.http``) with an admin key. The store is a SQLite file
in the temporary folder, or a schema of its own in the PostgreSQL database
``database_url`` names.

Receipt pushes are off: the benchmark journeys await no receipt, and a push would
add one signal per send that the yardsticks do not get.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from bench.http import LeanClient, Reply, TransportError
from bench.measure import CpuMeter, percentile
from cli.devserver import DevServer, free_port
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from engine.store.sql import SqlStore
from simulators import MessageRecord, ProviderSimulators
from tests.scratch import scratch_database

BENCH_MESSAGE = "bench_notice"
BENCH_MESSAGE_YAML = """\
id: bench_notice
purpose: service
sms:
  template_id: "1234567"
  sign_name: 某某眼科
  text: "{1}您好,您的{2}待确认。"
  params: ["{{ customer.name | default('您') }}", "{{ context.item | default('预约') }}"]
"""
"""The service SMS both benchmarks send (written into their temporary workspaces)."""

RETRIES = 5


@dataclass
class Stack:
    """Handles on every part of a running stack."""

    tmp: Path
    dev: DevServer
    client: Client
    store: SqlStore
    sims: ProviderSimulators
    dispatcher: Dispatcher
    http: LeanClient
    admin_key: str
    task_queue: str
    worker: Child
    api: Child
    database: str = field(repr=False)
    failures: list[str] = field(default_factory=list)  # API errors that were retried
    timings: dict[str, list[float]] = field(default_factory=dict)  # route -> seconds

    def route_report(self) -> str:
        """Answer times per route since the last report (then forgotten)."""
        lines = [
            f"    {route:<40} n={len(times):5d}  p50 {percentile(times, 50) * 1000:5.0f} ms  "
            f"p99 {percentile(times, 99) * 1000:5.0f} ms"
            for route, times in sorted(self.timings.items())
        ]
        self.timings.clear()
        return "\n".join(lines)

    async def call(
        self,
        method: str,
        url: str,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        """An API request with the admin key; 5xx and connection errors are retried (every
        benchmark request is idempotent) and recorded in ``failures``."""
        for attempt in range(RETRIES):
            t0 = time.perf_counter()
            try:
                r = await self.http.request(method, url, json, params)
            except TransportError as exc:
                self.failures.append(str(exc))
            else:
                if r.status_code < 400:
                    route = f"{method} {_route(url)}"
                    self.timings.setdefault(route, []).append(time.perf_counter() - t0)
                    return r
                if r.status_code < 500:
                    raise RuntimeError(f"{method} {url}: {r.status_code} {r.text[:500]}")
                self.failures.append(f"{method} {url}: {r.status_code} {r.text[:300]}")
            await asyncio.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"{method} {url} failed {RETRIES} times: {self.failures[-1]}")

    def cpu(self) -> CpuMeter:
        """A CPU meter over the stack's processes, started now."""
        pids = {
            "driver": os.getpid(),
            "api": self.api.pid,
            "worker": self.worker.pid,
            "temporal": self.dev.process.pid if self.dev.process is not None else None,
        }
        return CpuMeter({k: v for k, v in pids.items() if v is not None}).start()

    def deploy(self, root: Path) -> dict[str, int]:
        """Deploy a workspace folder; journey id -> version."""
        return {i.journey_id: i.version for i in self.dispatcher.deploy(root)}

    async def identify(
        self, phones: list[str], concurrency: int, attributes: dict[str, Any] | None = None
    ) -> dict[str, str]:
        """Create customers through ``POST /v1/identify``; phone -> customer id."""
        gate = asyncio.Semaphore(concurrency)
        out: dict[str, str] = {}

        async def one(phone: str) -> None:
            body = {"customer": {"phone": phone}, "attributes": attributes or {}}
            async with gate:
                r = await self.call("POST", "/v1/identify", json=body)
            out[phone] = r.json()["customer_id"]

        await asyncio.gather(*(one(p) for p in phones))
        return out


class SmsWatcher:
    """Polls the SMS simulator and hands each accepted message to whoever awaits it."""

    def __init__(self, sims: ProviderSimulators, interval: float = 0.01) -> None:
        self.sims, self.interval = sims, interval
        self.arrived: dict[str, MessageRecord] = {}  # recipient -> first message
        self._waiters: dict[str, asyncio.Future[MessageRecord]] = {}
        self._seen = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SmsWatcher:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def message_to(self, phone: str) -> MessageRecord:
        """The first message to ``phone`` (waits until it arrives)."""
        if phone in self.arrived:
            return self.arrived[phone]
        future = self._waiters.setdefault(phone, asyncio.get_running_loop().create_future())
        return await future

    async def _run(self) -> None:
        while True:
            records = self.sims.sms.messages
            for record in records[self._seen :]:
                if record.recipient in self.arrived:
                    continue
                self.arrived[record.recipient] = record
                future = self._waiters.pop(record.recipient, None)
                if future is not None and not future.done():
                    future.set_result(record)
            self._seen = len(records)
            await asyncio.sleep(self.interval)


@contextlib.asynccontextmanager
async def running_stack(
    database_url: str | None = None, api_workers: int = 1
) -> AsyncIterator[Stack]:
    """Start every part, yield the stack, then stop everything in reverse order."""
    with (
        tempfile.TemporaryDirectory(prefix="carepath-bench-") as folder,
        scratch_database(Path(folder) / "carepath.db", database_url, "bench") as database,
    ):
        tmp = Path(folder)
        dev = DevServer(
            tmp / "temporal.db", port=free_port(), ui_port=None, log_file=tmp / "temporal.log"
        )
        client = await dev.start()
        store = SqlStore(database)
        try:
            async with _serving(tmp, dev, client, store, database, api_workers) as stack:
                yield stack
        finally:
            store.close()
            dev.stop()


@contextlib.asynccontextmanager
async def _serving(
    tmp: Path, dev: DevServer, client: Client, store: SqlStore, database: str, api_workers: int
) -> AsyncIterator[Stack]:
    port = free_port()
    task_queue = f"bench-{uuid.uuid4().hex[:6]}"
    with ProviderSimulators(Settings().channels) as sims:
        # The worker and the API are processes of their own, as in production
        # (``python -m worker``, ``uvicorn --factory api.main:app``), configured through
        # the same CAREPATH_* variables an operator sets.
        env = {
            **os.environ,
            "CAREPATH_DATABASE__URL": database,
            "CAREPATH_TEMPORAL__ADDRESS": dev.address,
            "CAREPATH_TEMPORAL__TASK_QUEUE": task_queue,
            "CAREPATH_CHANNELS": sims.channel_settings().model_dump_json(),
        }
        dispatcher = Dispatcher(client, store, task_queue)
        _, admin_key = store.create_api_key("bench admin", ["admin"], [], at=datetime.now(UTC))
        worker = Child("worker", [sys.executable, "-m", "bench.worker"], env, tmp)
        api = Child(
            "api",
            [
                *(sys.executable, "-m", "uvicorn", "--factory", "api.main:app"),
                *("--host", "127.0.0.1", "--port", str(port)),
                *("--log-level", "warning", "--no-access-log"),
                *(("--workers", str(api_workers)) if api_workers > 1 else ()),
            ],
            env,
            tmp,
        )
        http = LeanClient("127.0.0.1", port, {"Authorization": f"Bearer {admin_key}"})
        try:
            await worker.start(ready=lambda log: "carepath worker on" in log)
            await api.start(ready=lambda _: _answers(f"http://127.0.0.1:{port}/healthz"))
            yield Stack(
                tmp=tmp,
                dev=dev,
                client=client,
                store=store,
                sims=sims,
                dispatcher=dispatcher,
                http=http,
                admin_key=admin_key,
                task_queue=task_queue,
                worker=worker,
                api=api,
                database=database,
            )
        finally:
            await http.close()
            api.stop()
            worker.stop()


def _route(url: str) -> str:
    """``/v1/handoffs/T-1/complete`` -> ``/v1/handoffs/{id}/complete``."""
    parts = url.split("?")[0].split("/")
    return "/".join("{id}" if i == 3 and len(parts) > 4 else p for i, p in enumerate(parts))


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


class Child:
    """A process of the stack (worker or API): started, awaited until ready, stopped."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], tmp: Path) -> None:
        self.name, self.command, self.env = name, command, env
        self.log_file = tmp / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    async def start(self, ready: Callable[[str], bool], timeout: float = 60.0) -> None:
        with open(self.log_file, "ab") as out:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=out, stderr=out)
        deadline = time.monotonic() + timeout
        while not ready(self.log()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self.name} did not start:\n{self.log()[-3000:]}")
            await asyncio.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM (both finish what they hold and exit), SIGKILL after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def activity_failures(self) -> str:
        """``activity attempts failed and retried: 3 (database is locked: 3)`` from the
        worker's log (the worker logs each failed attempt), or '' when none failed."""
        log = self.log()
        failed = log.count("Completing activity as failed")
        if not failed:
            return ""
        locked = log.count("database is locked")
        return f"activity attempts failed and retried: {failed} ('database is locked': {locked})"
