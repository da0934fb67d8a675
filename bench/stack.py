"""The whole carepath stack in one process, for the benchmarks.

The assembly of ``tests/e2e/conftest.py``: a Temporal dev server (a subprocess, SQLite
file with WAL pragmas, headless) in a temporary folder, the SQL store (a SQLite file
there, or a schema of its own in the PostgreSQL database ``database_url`` names),
the provider simulators, one worker, the dispatcher and the API served by uvicorn on
a free port, an httpx client and an admin key. The worker registers the yardstick
workflows of ``bench.handwritten`` beside ``JourneyWorkflow`` so every benchmark of a
run talks to the same server.

Receipt pushes are off: the benchmark journeys await no receipt, and a push would
add one signal per send that the yardsticks do not get.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import make_url
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.channels.registry import build_adapters
from activities.journey import JourneyActivities
from api.app import create_app
from bench.handwritten import HandWrittenJourney, Trivial
from cli.devserver import DevServer, free_port
from engine.dispatch import Dispatcher
from engine.settings import Settings
from engine.store.sql import SqlStore
from engine.store.sql.scratch import scratch_database
from simulators import MessageRecord, ProviderSimulators
from workflows.journey import JourneyWorkflow

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

ACTIVITY_THREADS = 32  # as worker.build_worker
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
    http: httpx.AsyncClient
    admin_key: str
    task_queue: str
    worker: Worker
    database: str = field(repr=False)
    failures: list[str] = field(default_factory=list)  # API errors that were retried
    activity_failures: ActivityFailures = field(default_factory=lambda: ActivityFailures())

    async def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An API request with the admin key; 5xx and connection errors are retried (every
        benchmark request is idempotent) and recorded in ``failures``."""
        for attempt in range(RETRIES):
            try:
                r = await self.http.request(method, url, headers=self.headers, **kwargs)
            except httpx.TransportError as exc:
                self.failures.append(f"{method} {url}: {type(exc).__name__} {exc}")
            else:
                if r.status_code < 500:
                    r.raise_for_status()
                    return r
                self.failures.append(f"{method} {url}: {r.status_code} {r.text[:300]}")
            await asyncio.sleep(0.2 * (attempt + 1))
        raise RuntimeError(f"{method} {url} failed {RETRIES} times: {self.failures[-1]}")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    def cpu(self) -> CpuMeter:
        """A CPU meter over this process and the Temporal server, started now."""
        pid = self.dev.process.pid if self.dev.process is not None else None
        return CpuMeter(pid).start()

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


class ActivityFailures(logging.Handler):
    """Counts failed activity attempts (the worker logs each one) by their error."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not record.getMessage().startswith("Completing activity as failed"):
            return
        exc = record.exc_info[1] if record.exc_info else None
        what = str(getattr(exc, "orig", None) or exc or "?").splitlines()[0][:80]
        self.errors[what] = self.errors.get(what, 0) + 1

    def summary(self) -> str:
        """``activity attempts failed: 3 (database is locked: 3)``, or '' when none did."""
        if not self.errors:
            return ""
        kinds = ", ".join(f"{what}: {n}" for what, n in self.errors.items())
        return f"activity attempts failed and retried: {sum(self.errors.values())} ({kinds})"


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


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process from /proc (Linux), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU used by this process (API, worker, driver) and by the Temporal server."""

    server_pid: int | None
    _start: tuple[float, float | None, float] = (0.0, None, 0.0)

    def start(self) -> CpuMeter:
        server = _cpu_seconds(self.server_pid) if self.server_pid else None
        self._start = (time.process_time(), server, time.perf_counter())
        return self

    def report(self) -> str:
        """``python 0.93 cores, temporal 0.61 cores`` since start()."""
        py0, server0, wall0 = self._start
        wall = max(time.perf_counter() - wall0, 1e-9)
        parts = [f"python {(time.process_time() - py0) / wall:.2f} cores"]
        server = _cpu_seconds(self.server_pid) if self.server_pid else None
        if server is not None and server0 is not None:
            parts.append(f"temporal {(server - server0) / wall:.2f} cores")
        return ", ".join(parts)


class Progress:
    """Prints a line every ``every`` completions."""

    def __init__(self, label: str, total: int, every: int = 50) -> None:
        self.label, self.total, self.every = label, total, every
        self.done = 0
        self.t0 = time.perf_counter()

    def tick(self) -> None:
        self.done += 1
        if self.done % self.every == 0 or self.done == self.total:
            elapsed = time.perf_counter() - self.t0
            print(
                f"  {self.label}: {self.done}/{self.total} in {elapsed:.1f}s "
                f"({self.done / elapsed:.1f}/s)",
                flush=True,
            )


def machine() -> str:
    """``2 cores, load 0.31 0.50 0.62``: other work on the machine skews every figure."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load {load}"


def store_name(database_url: str | None) -> str:
    """What the store runs on, without a password."""
    if not database_url:
        return "sqlite (temp file)"
    return make_url(database_url).render_as_string(hide_password=True)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


@contextlib.asynccontextmanager
async def running_stack(
    database_url: str | None = None, *, passthrough: bool = False
) -> AsyncIterator[Stack]:
    """Start every part, yield the stack, then stop everything in reverse order.

    ``passthrough``: the workflow sandbox imports no module afresh per workflow instance
    (``SandboxRestrictions.with_passthrough_all_modules``), to measure what the
    per-instance re-import costs; the product's worker uses the default sandbox.
    """
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
            async with _serving(tmp, dev, client, store, database, passthrough) as stack:
                yield stack
        finally:
            store.close()
            dev.stop()


@contextlib.asynccontextmanager
async def _serving(
    tmp: Path, dev: DevServer, client: Client, store: SqlStore, database: str, passthrough: bool
) -> AsyncIterator[Stack]:
    settings = Settings()
    port = free_port()
    task_queue = f"bench-{uuid.uuid4().hex[:6]}"
    executor = ThreadPoolExecutor(max_workers=ACTIVITY_THREADS)
    # Failed attempts are counted, not printed (the activities are retried).
    activity_log = logging.getLogger("temporalio.activity")
    failures = ActivityFailures()
    activity_log.addHandler(failures)
    activity_log.propagate = False
    restrictions = SandboxRestrictions.default
    if passthrough:
        restrictions = restrictions.with_passthrough_all_modules()
    with ProviderSimulators(settings.channels) as sims:
        adapters = build_adapters(sims.channel_settings())
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[JourneyWorkflow, HandWrittenJourney, Trivial],
            activities=JourneyActivities(store, adapters).all(),
            activity_executor=executor,
            max_concurrent_activities=ACTIVITY_THREADS,
            workflow_runner=SandboxedWorkflowRunner(restrictions=restrictions),
        )
        dispatcher = Dispatcher(client, store, task_queue)
        _, admin_key = store.create_api_key("bench admin", ["admin"], [], at=datetime.now(UTC))
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(store, dispatcher, settings),
                host="127.0.0.1",
                port=port,
                log_level="warning",
                access_log=False,
            )
        )
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                serving.result()  # raises what stopped it
            await asyncio.sleep(0.05)
        worker_run = asyncio.create_task(worker.run())
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
            ) as http:
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
                    database=database,
                    activity_failures=failures,
                )
        finally:
            await worker.shutdown()
            with contextlib.suppress(Exception):
                await worker_run
            executor.shutdown(wait=True, cancel_futures=True)
            server.should_exit = True
            await serving
            activity_log.removeHandler(failures)
            activity_log.propagate = True
