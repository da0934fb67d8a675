"""A worker rig for workflow tests that run the real worker on the time-skipping server:
a deployed workspace, a dispatcher, the provider simulators, and a teardown that
cancels the enrollments still running."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.channels.registry import build_adapters
from engine.contracts.journey import CancelSignal
from engine.dispatch.dispatcher import Dispatcher
from engine.store.sql import SqlStore
from simulators import ProviderSimulators
from worker import build_worker


@dataclass
class WorkerRig:
    """The parts a test drives; modules subclass it to add their own helpers."""

    env: WorkflowEnvironment
    store: SqlStore
    dispatcher: Dispatcher
    queue: str


R = TypeVar("R", bound=WorkerRig)


@contextlib.asynccontextmanager
async def worker_rig(
    rig_type: type[R],
    env: WorkflowEnvironment,
    store: SqlStore,
    root: Path,
    *,
    queue_prefix: str,
) -> AsyncIterator[R]:
    """Deploy ``root`` and run a worker on a fresh task queue while the test runs, with
    time skipping off (enrollments wait 30 days: time must not skip under the test).
    Afterwards every enrollment still running is cancelled; ``store`` stays open."""
    queue = f"{queue_prefix}-{uuid.uuid4().hex[:8]}"
    dispatcher = Dispatcher(env.client, store, queue)
    dispatcher.deploy(root)
    with ProviderSimulators() as sims:
        adapters = build_adapters(sims.channel_settings())
        async with build_worker(env.client, store, adapters, queue):
            with env.auto_time_skipping_disabled():
                yield rig_type(env, store, dispatcher, queue)
            for record in store.list_enrollments(status="running", limit=10_000):
                handle = env.client.get_workflow_handle(record.id)
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    # It may end between the describe and the signal.
                    with contextlib.suppress(RPCError):
                        await handle.signal("cancel", CancelSignal(reason="test finished"))
