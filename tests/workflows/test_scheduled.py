"""One tick of a scheduled journey, run directly (the time-skipping server has no
schedules): members enrolled in batches once per tick, reentry across ticks, the
``progress`` query, and ``timezone: customer``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, update
from temporalio.testing import WorkflowEnvironment

from engine.contracts.journey import CancelSignal
from engine.contracts.ticks import SCHEDULED_WORKFLOW_NAME, ScheduledEnrollInput, TickProgress
from engine.store.sql import SqlStore
from engine.store.sql.tables import CustomerRow
from tests.engine.store.conftest import postgres_url, sql_url
from tests.factories import workspace
from tests.workflows.rigs import WorkerRig, worker_rig

__all__ = ["postgres_url", "sql_url"]

pytestmark = pytest.mark.db

TICK = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Asia/Shanghai
NEXT_TICK = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)
SEGMENTS = [
    {"id": "ok_lens", "rule": {"attribute": "lens", "eq": "ok"}},
    {  # reads a time window: refreshed at each tick
        "id": "ok_lens_seen",
        "rule": {"all": [{"segment": "ok_lens"}, {"attribute": "seen_at", "within": "520w"}]},
    },
]


def journey(jid: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": jid,
        "trigger": {"schedule": {"cron": "0 10 * * 1", "segment": "ok_lens"}},
        "steps": [{"id": "later", "wait": {"duration": "30d"}}, {"id": "done", "exit": "done"}],
        **extra,
    }


def add_customers(store: SqlStore, rows: list[dict[str, Any]]) -> None:
    """Customers written straight into the table (many at once, as an import would)."""
    now = datetime.now(UTC)
    with store._db.write() as s, s.begin():
        s.execute(insert(CustomerRow), [{"created_at": now, **r} for r in rows])


class Rig(WorkerRig):
    async def tick(self, journey_id: str, at: datetime, **kw: Any) -> TickProgress:
        handle = await self.env.client.start_workflow(
            SCHEDULED_WORKFLOW_NAME,
            ScheduledEnrollInput(journey_id=journey_id, tick_at=at, **kw),
            id=f"tick-{uuid.uuid4().hex[:8]}",
            task_queue=self.queue,
            result_type=TickProgress,
        )
        result = await handle.result()
        assert isinstance(result, TickProgress)
        # The query answers the same figures once the tick is done.
        assert await handle.query("progress", result_type=TickProgress) == result
        return result

    def enrollments(self, journey_id: str) -> list[Any]:
        return self.store.list_enrollments(journey_id=journey_id, limit=10_000)


@pytest.fixture
async def rig(time_env: WorkflowEnvironment, sql_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    store = SqlStore(sql_url)
    add_customers(
        store,
        [
            {"id": f"c-{i:03d}", "attributes": {"lens": "ok", "seen_at": "2026-11-01"}}
            for i in range(23)
        ]
        + [{"id": f"x-{i:03d}", "attributes": {"lens": "frame"}} for i in range(5)]
        + [
            {"id": "c-sg", "attributes": {"lens": "ok"}, "timezone": "Asia/Singapore"},
            {"id": "c-ny", "attributes": {"lens": "ok"}, "timezone": "America/New_York"},
        ],
    )
    root = workspace(
        tmp_path / "ws",
        [
            journey("weekly"),
            journey("once", reentry="never"),
            journey("local", trigger={"schedule": {**_sched(), "timezone": "customer"}}),
            journey("fresh", trigger={"schedule": {**_sched(), "segment": "ok_lens_seen"}}),
        ],
        segments=SEGMENTS,
    )
    async with worker_rig(Rig, time_env, store, root, queue_prefix="tick") as rig:
        yield rig
    store.close()


def _sched() -> dict[str, str]:
    return {"cron": "0 10 * * 1", "segment": "ok_lens"}


async def test_a_tick_enrolls_every_member_once_in_batches(rig: Rig) -> None:
    result = await rig.tick("weekly", TICK, batch_size=4, batches_per_slice=2)

    assert result.status == "done" and result.version == 1 and result.segment == "ok_lens"
    assert result.enrolled == 25 and result.skipped == 0
    assert result.batches == 7  # 25 members, 4 a batch
    records = rig.enrollments("weekly")
    assert sorted(r.customer_id for r in records) == sorted(
        [f"c-{i:03d}" for i in range(23)] + ["c-sg", "c-ny"]
    )
    # The tick's key is its cron time in the journey's zone (the workspace's here).
    assert {r.key for r in records} == {"tick:2026-12-07T10:00+08:00"}
    assert all(r.id.endswith(":key:tick:2026-12-07T10:00+08:00") for r in records)


async def test_the_same_tick_again_enrolls_nobody_twice(rig: Rig) -> None:
    first = await rig.tick("weekly", TICK, batch_size=10)
    again = await rig.tick("weekly", TICK, batch_size=7)  # e.g. a retried run

    assert first.enrolled == again.enrolled == 25  # the second found this tick's enrollments
    assert len(rig.enrollments("weekly")) == 25


async def test_the_next_tick_skips_members_still_in_the_journey(rig: Rig) -> None:
    await rig.tick("weekly", TICK)
    later = await rig.tick("weekly", NEXT_TICK)

    assert later.enrolled == 0 and later.skipped == 25
    assert later.skips == {"still in the journey (an earlier enrollment is running)": 25}
    assert len(rig.enrollments("weekly")) == 25


async def test_reentry_never_enrolls_a_member_in_one_tick_only(rig: Rig) -> None:
    await rig.tick("once", TICK)
    for record in rig.enrollments("once"):  # end them: never still refuses
        await rig.env.client.get_workflow_handle(record.id).signal(
            "cancel", CancelSignal(reason="test")
        )
    later = await rig.tick("once", NEXT_TICK)

    assert later.enrolled == 0
    assert later.skips == {"reentry: never, and enrolled before": 25}


async def test_a_paused_journey_ticks_without_enrolling(rig: Rig) -> None:
    rig.store.set_paused("weekly", True)
    result = await rig.tick("weekly", TICK)

    assert result.status == "not_run" and result.reason == "journey paused"
    assert rig.enrollments("weekly") == []


async def test_customer_timezone_enrolls_those_whose_local_time_is_due(rig: Rig) -> None:
    # 02:00 UTC is 10:00 in Shanghai (the default zone) and in Singapore, 21:00 in New York.
    at_ten_in_asia = await rig.tick("local", TICK)
    assert at_ten_in_asia.enrolled == 24
    asia = {r.customer_id: r.key for r in rig.enrollments("local")}
    assert "c-ny" not in asia
    assert asia["c-sg"] == "tick:2026-12-07T10:00+08:00"

    # 15:00 UTC on Monday is 10:00 in New York: only its member is due.
    at_ten_in_new_york = await rig.tick("local", datetime(2026, 12, 7, 15, 0, tzinfo=UTC))
    assert at_ten_in_new_york.enrolled == 1
    (ny,) = [r for r in rig.enrollments("local") if r.customer_id == "c-ny"]
    assert ny.key == "tick:2026-12-07T10:00-05:00"

    nobody = await rig.tick("local", datetime(2026, 12, 7, 3, 0, tzinfo=UTC))
    assert nobody.status == "not_run" and nobody.enrolled == 0


async def test_a_time_based_segment_is_refreshed_before_the_tick_enrolls(rig: Rig) -> None:
    # Time passing, as the membership has not seen it yet: c-000's last visit is now
    # outside the window (written straight into the table, so no refresh ran).
    with rig.store._db.write() as s, s.begin():
        s.execute(
            update(CustomerRow)
            .where(CustomerRow.id == "c-000")
            .values(attributes={"lens": "ok", "seen_at": "2010-01-01"})
        )
    result = await rig.tick("fresh", TICK)

    assert result.enrolled == 22
    assert "c-000" not in {r.customer_id for r in rig.enrollments("fresh")}
