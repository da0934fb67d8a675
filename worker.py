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
from temporalio.worker import (
    UnsandboxedWorkflowRunner,
    Worker,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import _Definition

import workflows
from activities.channels.base import ChannelAdapter
from activities.journey import JourneyActivities
from engine import heap
from engine.models.common import ChannelName
from engine.settings import Settings, get_settings
from engine.store import ActivityStore
from workflows.journey import JourneyWorkflow
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
) -> Worker:
    """A worker for journey workflows; activities run in a thread pool (the SDKs block).

    ``extra_workflows`` run beside the journey workflow (the benchmarks' yardsticks).
    ``sandbox_interpreter=False`` (the worker process, ``run``) runs the journey
    interpreter outside Temporal's sandbox (``_InterpreterDirect``).
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
        workflow_runner=_runner(sandbox_interpreter),
    )


def _runner(sandbox_interpreter: bool) -> WorkflowRunner:
    """Temporal's sandbox for every workflow, or for all but the journey interpreter."""
    sandboxed = SandboxedWorkflowRunner()
    return sandboxed if sandbox_interpreter else _InterpreterDirect(sandboxed)


class _InterpreterDirect(WorkflowRunner):
    """Runs ``JourneyWorkflow`` outside the sandbox and every other workflow in it.

    The sandbox imports a workflow's module afresh for each workflow instance and runs
    every activation, and every payload's serialization context, through ``exec`` in
    the instance's namespace, so that module state cannot leak between runs and calls
    are checked against its restrictions. In ``bench.enroll`` that machinery was about
    a quarter of the worker's CPU per enrollment (the interpreter's module is 500
    lines with seven handlers that temporalio inspects at every import). The
    interpreter is one module of ours, not operators' code: it keeps no state between
    runs, reads time only through ``workflow.now()``, touches the world only through
    activities, and imports only pure models (all passed through the sandbox
    anyway). So the worker process runs it directly. The tests build workers with
    the sandbox (``build_worker``'s default), so every workflow test still runs the
    interpreter under the sandbox's restrictions, and the replay tests check its
    determinism against recorded histories.
    """

    def __init__(self, sandboxed: WorkflowRunner) -> None:
        self.sandboxed = sandboxed
        self.direct = UnsandboxedWorkflowRunner()

    def _for(self, defn: _Definition) -> WorkflowRunner:
        return self.direct if defn.cls is JourneyWorkflow else self.sandboxed

    def prepare_workflow(self, defn: _Definition) -> None:
        self._for(defn).prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return self._for(det.defn).create_instance(det)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self.sandboxed.set_worker_level_failure_exception_types(types)
        self.direct.set_worker_level_failure_exception_types(types)


def _scheduled_activities(client: Client, store: ActivityStore, task_queue: str) -> list[object]:
    """The ticks of scheduled journeys (they page the SQL store's members). A
    simulation's memory store has no segments to page: nothing to register, and
    SQLAlchemy is not imported for it (a store of the SQL module would have been)."""
    sql = sys.modules.get("engine.store.sql.store")
    if sql is None or not isinstance(store, sql.SqlStore):
        return []
    from activities.scheduled import ScheduledActivities

    return ScheduledActivities(client, store, task_queue).all()


def _segment_activities(client: Client, store: ActivityStore, task_queue: str) -> list[object]:
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
        sandbox_interpreter=settings.temporal.sandbox_journeys,
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
