"""A time-based segment's refresh, run directly (the time-skipping server has no
schedules): who aged out leaves (their ``segment_exited`` enrollment ends), who aged in
enters (their ``segment_entered`` journey starts), and a repeat changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from engine.contracts.journey import EnrollmentResult
from engine.contracts.segment_refresh import (
    SEGMENT_REFRESH_WORKFLOW,
    SegmentRefreshInput,
    SegmentRefreshResult,
)
from engine.store.records import Identities, NewEvent
from engine.store.sql import SqlStore
from tests.engine.store.conftest import postgres_url, sql_url
from tests.factories import workspace
from tests.workflows.rigs import WorkerRig, worker_rig

__all__ = ["postgres_url", "sql_url"]

pytestmark = pytest.mark.db

SEGMENTS = [
    {"id": "recent_form", "rule": {"event": "form.submitted", "within": "7d"}},
    {
        "id": "form_gone_quiet",
        "rule": {
            "all": [
                {"event": "form.submitted"},
                {"not": {"segment": "recent_form"}},
            ]
        },
    },
]
WAIT = [{"id": "later", "wait": {"duration": "30d"}}, {"id": "done", "exit": "done"}]
JOURNEYS = [
    {
        "id": "form_reminder",
        "trigger": {"event": "form.submitted"},
        "exit_when": [{"segment_exited": "recent_form"}],
        "steps": WAIT,
    },
    {"id": "win_back", "trigger": {"segment_entered": "form_gone_quiet"}, "steps": WAIT},
    {"id": "form_thanks", "trigger": {"segment_entered": "recent_form"}, "steps": WAIT},
]


class Rig(WorkerRig):
    async def track(self, phone: str, name: str) -> str:
        now = datetime.now(UTC)
        item = (Identities(phone=phone), NewEvent(message_id=uuid.uuid4().hex, name=name, at=now))
        stored = self.dispatcher.ingest([item], at=now)
        await self.dispatcher.events_accepted(stored)
        return stored[0].customer_id

    async def refresh(self, segment_id: str, at: datetime) -> SegmentRefreshResult:
        result = await self.env.client.execute_workflow(
            SEGMENT_REFRESH_WORKFLOW,
            SegmentRefreshInput(segment_id=segment_id, at=at),
            id=f"refresh-{uuid.uuid4().hex[:8]}",
            task_queue=self.queue,
            result_type=SegmentRefreshResult,
        )
        assert isinstance(result, SegmentRefreshResult)
        return result


@pytest.fixture
async def rig(time_env: WorkflowEnvironment, sql_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    store = SqlStore(sql_url)
    root = workspace(tmp_path / "ws", JOURNEYS, segments=SEGMENTS)
    async with worker_rig(Rig, time_env, store, root, queue_prefix="refresh") as rig:
        yield rig
    store.close()


async def test_the_refresh_moves_who_aged_out_and_tells_their_journeys(rig: Rig) -> None:
    customer = await rig.track("13900000001", "form.submitted")
    (reminder,) = rig.store.list_enrollments(customer_id=customer, journey_id="form_reminder")
    assert rig.store.customer_segments(customer) == {"recent_form"}

    # Nothing has aged yet: a refresh now changes nobody.
    now = await rig.refresh("recent_form", datetime.now(UTC))
    assert (now.entered, now.exited) == (0, 0)

    later = await rig.refresh("recent_form", datetime.now(UTC) + timedelta(days=8))
    # recent_form let them go; form_gone_quiet (built on it) took them in.
    assert (later.entered, later.exited) == (1, 1)
    assert rig.store.customer_segments(customer) == {"form_gone_quiet"}
    assert reminder.id in later.signalled
    handle = rig.env.client.get_workflow_handle(reminder.id, result_type=EnrollmentResult)
    result = await handle.result()
    assert result.status == "exited" and result.exit_reason == "segment_exited recent_form"
    (win_back,) = rig.store.list_enrollments(customer_id=customer, journey_id="win_back")
    assert win_back.id in later.enrolled and win_back.status == "running"

    # The same instant again: the membership is current, nobody is told twice.
    again = await rig.refresh("recent_form", datetime.now(UTC) + timedelta(days=8))
    assert (again.changes, again.entered, again.exited) == (0, 0, 0)
    assert len(rig.store.list_enrollments(customer_id=customer, journey_id="win_back")) == 1


async def test_an_enter_left_undispatched_by_a_crash_is_caught_up_by_the_sweep(rig: Rig) -> None:
    now = datetime.now(UTC)
    event = NewEvent(message_id=uuid.uuid4().hex, name="form.submitted", at=now)
    # Stored with its enter in one transaction; the process dies before dispatching.
    (stored,) = rig.dispatcher.ingest([(Identities(phone="13900000002"), event)], at=now)
    assert [(c.segment_id, c.entered) for c in stored.segments] == [("recent_form", True)]
    customer = stored.customer_id
    assert rig.store.list_enrollments(customer_id=customer, journey_id="form_thanks") == []
    assert await rig.dispatcher.sweep(older_than=0) >= 1
    (thanks,) = rig.store.list_enrollments(customer_id=customer, journey_id="form_thanks")
    assert thanks.status == "running"
    assert rig.store.pending_segment_changes(customer_ids=[customer]) == []
    # A second sweep finds nothing left to do.
    await rig.dispatcher.sweep(older_than=0)
    assert len(rig.store.list_enrollments(customer_id=customer, journey_id="form_thanks")) == 1
