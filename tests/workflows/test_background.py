"""The background workflow, through the real worker on the time-skipping server: an
event stored but never dispatched (the process died after commit) starts its journey
at the next round; one id means one running workflow however many workers start it;
a run continues as new after its rounds."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from engine.contracts.background import BACKGROUND_WORKFLOW, BackgroundInput
from engine.dispatch.background import ensure_background
from engine.store.records import Identities, NewEvent
from engine.store.sql import SqlStore
from tests.engine.store.conftest import postgres_url, sql_url
from tests.factories import workspace
from tests.workflows.rigs import WorkerRig, worker_rig

__all__ = ["postgres_url", "sql_url"]

pytestmark = pytest.mark.db

JOURNEYS = [
    {
        "id": "form_thanks",
        "trigger": {"event": "form.submitted"},
        "steps": [{"id": "later", "wait": {"duration": "30d"}}, {"id": "done", "exit": "done"}],
    }
]


@pytest.fixture
async def rig(
    time_env: WorkflowEnvironment, sql_url: str, tmp_path: Path
) -> AsyncIterator[WorkerRig]:
    store = SqlStore(sql_url)
    root = workspace(tmp_path / "ws", JOURNEYS)
    async with worker_rig(WorkerRig, time_env, store, root, queue_prefix="background") as rig:
        yield rig
    store.close()


async def test_an_event_left_undispatched_is_enrolled_by_the_background_workflow(
    rig: WorkerRig,
) -> None:
    now = datetime.now(UTC)
    event = NewEvent(message_id=uuid.uuid4().hex, name="form.submitted", at=now)
    # Stored in its transaction; the process dies before it dispatches anything.
    (stored,) = rig.dispatcher.ingest([(Identities(phone="13900000011"), event)], at=now)
    assert rig.store.list_enrollments(customer_id=stored.customer_id) == []

    # Two short rounds, then the run continues as new (a fresh id per test: the
    # time-skipping server is shared by the module).
    workflow_id = f"background-{uuid.uuid4().hex[:8]}"
    handle = await rig.env.client.start_workflow(
        BACKGROUND_WORKFLOW,
        BackgroundInput(sweep_seconds=1, sweep_after_seconds=0, wecom_every=1, rounds_per_run=2),
        id=workflow_id,
        task_queue=rig.queue,
    )
    first_run = handle.result_run_id
    for _ in range(100):
        enrolled = rig.store.list_enrollments(customer_id=stored.customer_id)
        if enrolled:
            break
        await rig.env.sleep(0.2)
    (thanks,) = rig.store.list_enrollments(customer_id=stored.customer_id)
    assert thanks.journey_id == "form_thanks" and thanks.status == "running"

    for _ in range(100):
        described = await rig.env.client.get_workflow_handle(workflow_id).describe()
        if described.run_id != first_run:
            break
        await rig.env.sleep(0.5)
    assert described.run_id != first_run  # continued as new, still running
    assert described.status == WorkflowExecutionStatus.RUNNING
    # The event was marked dispatched: later rounds enroll nobody again.
    assert rig.store.undispatched_events(datetime.now(UTC)) == []
    assert len(rig.store.list_enrollments(customer_id=stored.customer_id)) == 1
    await rig.env.client.get_workflow_handle(workflow_id).terminate("test finished")


async def test_every_worker_start_finds_the_one_background_workflow(rig: WorkerRig) -> None:
    first = await ensure_background(rig.env.client, rig.queue, BackgroundInput(sweep_seconds=60))
    second = await ensure_background(rig.env.client, rig.queue, BackgroundInput(sweep_seconds=60))
    assert first and first == second
    handle = rig.env.client.get_workflow_handle("carepath-background")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await handle.terminate("test finished")
