"""The Temporal worker: connects, registers the journey workflow and its activities."""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import signal
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

import workflows
from activities.channels.base import ChannelAdapter
from activities.journey import JourneyActivities
from engine import heap
from engine.models.common import ChannelName
from engine.settings import Settings, get_settings
from engine.store import Store
from workflows.journey import JourneyWorkflow
from workflows.scheduled import ScheduledEnrollWorkflow
from workflows.segment_refresh import SegmentRefreshWorkflow


def build_worker(
    client: Client,
    store: Store,
    adapters: Mapping[ChannelName, ChannelAdapter],
    task_queue: str,
    *,
    max_activity_threads: int = 32,
    extra_workflows: Sequence[type] = (),
) -> Worker:
    """A worker for journey workflows; activities run in a thread pool (the SDKs block).

    ``extra_workflows`` run beside the journey workflow (the benchmarks' yardsticks).
    """
    _byte_compile_workflows()
    activities = JourneyActivities(store, adapters)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            JourneyWorkflow,
            ScheduledEnrollWorkflow,
            SegmentRefreshWorkflow,
            *extra_workflows,
        ],
        activities=activities.all()
        + _scheduled_activities(client, store, task_queue)
        + _segment_activities(client, store, task_queue),
        activity_executor=ThreadPoolExecutor(max_workers=max_activity_threads),
        max_concurrent_activities=max_activity_threads,
    )


def _scheduled_activities(client: Client, store: Store, task_queue: str) -> list[object]:
    """The ticks of scheduled journeys (they page the SQL store's members). A
    simulation's memory store has no segments to page: nothing to register, and
    SQLAlchemy is not imported for it (a store of the SQL module would have been)."""
    sql = sys.modules.get("engine.store.sql.store")
    if sql is None or not isinstance(store, sql.SqlStore):
        return []
    from activities.scheduled import ScheduledActivities

    return ScheduledActivities(client, store, task_queue).all()


def _segment_activities(client: Client, store: Store, task_queue: str) -> list[object]:
    """Segment refreshes (SQL over the population): only with the SQL store."""
    sql = sys.modules.get("engine.store.sql.store")
    if sql is None or not isinstance(store, sql.SqlStore):
        return []
    from activities.segments import SegmentActivities

    return SegmentActivities(client, store, task_queue).all()


def _byte_compile_workflows() -> None:
    """Write the bytecode of ``workflows/`` once, at start.

    The sandbox imports the workflow modules afresh for every workflow instance. Where
    PYTHONDONTWRITEBYTECODE is set (many container images set it) no .pyc is ever
    written, so each instance compiled them from source: a fifth of the worker's CPU in
    ``bench.enroll``. compileall writes regardless; a read-only install keeps going.
    """
    with contextlib.suppress(OSError):
        compileall.compile_dir(Path(workflows.__file__).parent, quiet=2)


async def run(settings: Settings | None = None, extra_workflows: Sequence[type] = ()) -> None:
    """Connect to Temporal with the configured store and channels; run until stopped
    (SIGINT or SIGTERM), finishing the tasks in hand."""
    from activities.channels.registry import build_adapters
    from engine.store.sql import SqlStore
    from engine.store.sql.migrate import upgrade

    settings = settings or get_settings()
    upgrade(settings.database.url)
    store = SqlStore(settings.database.url)
    client = await Client.connect(
        settings.temporal.address,
        namespace=settings.temporal.namespace,
        data_converter=pydantic_data_converter,
    )
    worker = build_worker(
        client,
        store,
        # The store shares access tokens between worker processes (one refresh for all).
        build_adapters(settings.channels, tokens=store),
        settings.temporal.task_queue,
        extra_workflows=extra_workflows,
    )
    heap.settle()  # start-up is done: out of the collector's way (engine/heap.py)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        print(
            f"carepath worker on {settings.temporal.address}, queue {settings.temporal.task_queue}",
            flush=True,
        )
        await stop.wait()
    store.close()


if __name__ == "__main__":
    asyncio.run(run())
