"""A holdout member's draw is stored when it is drawn, not when the enrollment ends:
the journey metrics count arms from the stored trace, and a holdout member runs no
other activity while it waits out the goal window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from engine.store.records import Identities
from engine.store.sql import SqlStore
from tests.engine.store.conftest import postgres_url, sql_url
from tests.factories import workspace
from tests.workflows.rigs import WorkerRig, worker_rig

__all__ = ["postgres_url", "sql_url"]

pytestmark = pytest.mark.db

HELD = {
    "id": "held",
    "trigger": {"api": True},
    "goal": {"event": "paid", "within": "30d"},
    "steps": [
        {
            "id": "s",
            "split": {"variants": [{"name": "a", "weight": 0.0001, "goto": "a"}], "holdout": 1000},
        },
        {"id": "a", "exit": "a"},
    ],
}


@pytest.fixture
async def rig(
    time_env: WorkflowEnvironment, sql_url: str, tmp_path: Path
) -> AsyncIterator[WorkerRig]:
    store = SqlStore(sql_url)
    root = workspace(tmp_path / "ws", [HELD])
    async with worker_rig(WorkerRig, time_env, store, root, queue_prefix="holdout") as rig:
        yield rig
    store.close()


async def test_a_holdout_draw_is_stored_while_the_member_waits(rig: WorkerRig) -> None:
    who = Identities(phone="13900000021")
    rig.store.resolve(who, create=True, at=datetime.now(UTC))
    _, enrolled = await rig.dispatcher.enroll_api("held", who, {})
    assert enrolled.status == "started" and enrolled.enrollment_id is not None
    eid = enrolled.enrollment_id
    for _ in range(100):
        splits = [e for e in rig.store.get_trace(eid) if e.kind == "split"]
        if splits:
            break
        await asyncio.sleep(0.05)
    assert [e.variant for e in splits] == ["holdout"]
    # Still waiting out its 30-day goal window: nothing else has happened to it.
    assert rig.store.get_enrollment(eid).status == "running"
