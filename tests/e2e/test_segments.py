"""Real-time segments end to end: real Temporal dev server, worker, API over HTTP.

One ``/v1/track`` that makes a customer enter a segment starts its ``segment_entered``
journey before the response comes back (no sweep, no polling); an event that makes
them leave ends a journey with ``exit_when: {segment_exited: ...}``; the refresh of a
time-based segment (its Temporal Schedule, its workflow) lets an aged-out customer go.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.service import RPCError

from engine.contracts.segment_refresh import (
    SEGMENT_REFRESH_WORKFLOW,
    SegmentRefreshInput,
    SegmentRefreshResult,
)
from engine.dispatch.segment_schedules import refresh_schedule_id
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.db]

WORKSPACE = Path(__file__).parent / "segments_workspace"


def phone() -> str:
    return f"+86137{uuid.uuid4().int % 10**8:08d}"


@pytest.fixture(scope="module")
async def deployed(stack: Stack) -> Stack:
    response = await stack.http.post(
        "/v1/journeys/deploy", json={"path": str(WORKSPACE)}, headers=stack.headers()
    )
    assert response.status_code == 200, response.text
    return stack


async def track(stack: Stack, who: str, event: str, **extra: Any) -> dict[str, Any]:
    response = await stack.track({"phone": who}, event, **extra)
    assert response.status_code == 202, response.text
    return dict(response.json())


def running(stack: Stack, customer_id: str, journey_id: str) -> list[str]:
    records = stack.store.list_enrollments(customer_id=customer_id, journey_id=journey_id)
    return [r.id for r in records if r.status == "running"]


async def test_the_track_that_enters_a_segment_starts_its_journey(deployed: Stack) -> None:
    who = phone()
    first = await track(deployed, who, "live.viewed")
    customer_id = first["accepted"][0]["customer_id"]
    assert running(deployed, customer_id, "live_follow_up") == []
    second = await track(deployed, who, "live.viewed")
    # Started within the request: the answer names it and the record is there already.
    assert "live_follow_up:started" in second["enrolled"]
    assert len(running(deployed, customer_id, "live_follow_up")) == 1
    assert "live_regulars" in deployed.store.customer_segments(customer_id)
    # A third view changes no membership: nothing new starts.
    third = await track(deployed, who, "live.viewed")
    assert third["enrolled"] == []
    assert len(running(deployed, customer_id, "live_follow_up")) == 1


async def test_the_event_that_leaves_a_segment_ends_the_enrollment(deployed: Stack) -> None:
    who = phone()
    asked = await track(deployed, who, "consult.asked")
    (enrollment_id,) = asked["enrollment_ids"]
    customer_id = asked["accepted"][0]["customer_id"]
    assert "not_booked" in deployed.store.customer_segments(customer_id)
    booked = await track(deployed, who, "appointment.booked")
    assert enrollment_id in booked["signalled"]
    view = await deployed.settle(enrollment_id, timeout=20)
    assert view["status"] == "exited"
    assert view["exit_reason"] == "segment_exited not_booked"


async def test_a_tag_added_through_the_api_enters_the_segment_and_enrolls(
    deployed: Stack,
) -> None:
    first = await track(deployed, phone(), "page.viewed")
    customer_id = first["accepted"][0]["customer_id"]
    response = await deployed.http.post(
        f"/v1/customers/{customer_id}/tags", json={"add": ["VIP"]}, headers=deployed.headers()
    )
    assert response.status_code == 200, response.text
    assert "vip_welcome:started" in response.json()["enrolled"]
    assert len(running(deployed, customer_id, "vip_welcome")) == 1


async def test_a_time_based_segment_has_its_refresh_schedule(deployed: Stack) -> None:
    handle = deployed.client.get_schedule_handle(refresh_schedule_id("recent_form"))
    described = await handle.describe()
    schedule = described.schedule
    # The server keeps the cron as calendar specs; the note says what was asked for.
    assert schedule.state.note is not None and "0 * * * *" in schedule.state.note
    assert schedule.spec.time_zone_name == "Asia/Shanghai"
    assert isinstance(schedule.action, ScheduleActionStartWorkflow)
    assert schedule.action.workflow == SEGMENT_REFRESH_WORKFLOW
    assert schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    # Segments without time windows need no refresh: every change re-evaluates them.
    for sid in ("live_regulars", "not_booked", "vip_tagged"):
        with pytest.raises(RPCError):
            await deployed.client.get_schedule_handle(refresh_schedule_id(sid)).describe()


async def test_the_refresh_lets_an_aged_out_customer_go_and_ends_the_journey(
    deployed: Stack,
) -> None:
    who = phone()
    sent = await track(deployed, who, "form.submitted")
    (enrollment_id,) = sent["enrollment_ids"]
    customer_id = sent["accepted"][0]["customer_id"]
    assert "recent_form" in deployed.store.customer_segments(customer_id)
    # The refresh as the schedule would run it eight days from now.
    later = datetime.now(UTC) + timedelta(days=8)
    result = await deployed.client.execute_workflow(
        SEGMENT_REFRESH_WORKFLOW,
        SegmentRefreshInput(segment_id="recent_form", at=later),
        id=f"segment-refresh-test-{uuid.uuid4().hex[:8]}",
        task_queue=deployed.task_queue,
        result_type=SegmentRefreshResult,
    )
    assert result.exited >= 1 and enrollment_id in result.signalled
    assert "recent_form" not in deployed.store.customer_segments(customer_id)
    view = await deployed.settle(enrollment_id, timeout=20)
    assert view["status"] == "exited"
    assert view["exit_reason"] == "segment_exited recent_form"
