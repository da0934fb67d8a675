"""The Temporal worker process: connects, registers the workflows and their
activities, and runs until stopped.

``build_worker`` registers; ``run`` connects to Temporal with the configured store
and channels and runs. The schema is not migrated here (``carepath migrate`` does
it), and how the workflows are run (the sandbox, or the journey interpreter outside
it) is ``workflows.runner``'s.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.background import BackgroundActivities
from activities.channels.base import ChannelAdapter
from activities.channels.registry import build_adapters
from activities.channels.wecom.client import WeComClient, build_wecom_client
from activities.journey import JourneyActivities
from activities.scheduled import ScheduledActivities
from activities.segments import SegmentActivities
from engine import heap
from engine.dispatch.background import ensure_background
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.visibility import missing_search_attributes
from engine.errors import CarepathError
from engine.models.common import ChannelName
from engine.settings import Settings, get_settings, refuse_development_secrets
from engine.store import ActivityStore
from engine.store.sql import SqlStore
from workflows.background import BackgroundWorkflow
from workflows.journey import JourneyWorkflow
from workflows.runner import workflow_runner
from workflows.scheduled import ScheduledEnrollWorkflow
from workflows.segment_refresh import SegmentRefreshWorkflow


def build_worker(
    client: Client,
    store: ActivityStore,
    adapters: Mapping[ChannelName, ChannelAdapter],
    task_queue: str,
    *,
    max_activity_threads: int = 32,
    extra_workflows: Sequence[type] = (),
    sandbox_interpreter: bool = True,
    wecom: WeComClient | None = None,
) -> Worker:
    """A worker for journey workflows; activities run in a thread pool (the SDKs block).

    ``extra_workflows`` run beside the journey workflow (the benchmarks' yardsticks).
    ``sandbox_interpreter=False`` (the worker process, ``run``) runs the journey
    interpreter outside Temporal's sandbox (``workflows.runner``). ``wecom``: the client
    the background workflow reads WeCom send results with.
    """
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            JourneyWorkflow,
            ScheduledEnrollWorkflow,
            SegmentRefreshWorkflow,
            BackgroundWorkflow,
            *extra_workflows,
        ],
        activities=JourneyActivities(store, adapters).all()
        + _population_activities(client, store, task_queue, wecom),
        activity_executor=ThreadPoolExecutor(max_workers=max_activity_threads),
        max_concurrent_activities=max_activity_threads,
        workflow_runner=workflow_runner(sandbox_interpreter),
    )


def _population_activities(
    client: Client, store: ActivityStore, task_queue: str, wecom: WeComClient | None
) -> list[object]:
    """The ticks of scheduled journeys, segment refreshes and the background sweep:
    SQL over the population, so only with the SQL store. A simulation's memory store
    has no population to page: nothing to register for it."""
    if not isinstance(store, SqlStore):
        return []
    return [
        *ScheduledActivities(client, store, task_queue).all(),
        *SegmentActivities(client, store, task_queue).all(),
        *BackgroundActivities(Dispatcher(client, store, task_queue), store, wecom).all(),
    ]


async def run(settings: Settings | None = None, extra_workflows: Sequence[type] = ()) -> None:
    """Connect to Temporal with the configured store and channels; run until stopped
    (SIGINT or SIGTERM), finishing the tasks in hand. The database must be migrated."""
    settings = settings or get_settings()
    refuse_development_secrets(settings)  # production: InsecureSettings
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
        sandbox_interpreter=settings.temporal.sandbox_journeys,
        wecom=build_wecom_client(settings.channels, tokens=store),
    )
    missing = await missing_search_attributes(client, settings.temporal.namespace)
    if missing:  # every enrollment's workflow task would fail on its first step
        raise CarepathError(
            f"Temporal namespace {settings.temporal.namespace!r} lacks the search attributes "
            f"{', '.join(missing)}: register them first (docs/deploy.md, "
            "`temporal operator search-attribute create`)"
        )
    heap.settle()  # start-up is done: out of the collector's way (engine/heap.py)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        # Exactly one background workflow runs, whichever worker started it first.
        await ensure_background(client, settings.temporal.task_queue)
        print(
            f"carepath worker on {settings.temporal.address}, queue {settings.temporal.task_queue}",
            flush=True,
        )
        await stop.wait()
    store.close()


if __name__ == "__main__":
    try:
        asyncio.run(run())
    except CarepathError as exc:  # a start-up refusal: say why, without a traceback
        sys.exit(f"carepath worker: {exc}")
