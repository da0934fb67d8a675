"""Dates that move, through the API: an identify that changes the date a running wait
follows re-plans it; an event a journey's ``context_from`` names updates the context
and re-plans; an ``update`` step of another journey re-plans it too (journey language
section 3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Ends one day before the customer's appointment_at (a profile attribute).
BY_ATTRIBUTE = {
    "id": "by_attribute",
    "trigger": {"api": True},
    "steps": [
        {
            "id": "day_before",
            "wait": {"until_attribute": "appointment_at", "offset": "1d", "offset_negative": True},
        },
        {"id": "done", "exit": "reminded"},
    ],
}
#: Ends one day before the enrollment's appointment_at, which reschedules update.
BY_CONTEXT = {
    "id": "by_context",
    "trigger": {"api": True},
    "context_from": [
        {
            "event": "appointment.rescheduled",
            "where": {"appointment_id": "{{ context.appointment_id }}"},
        }
    ],
    "steps": [
        {
            "id": "day_before",
            "wait": {"until_context": "appointment_at", "offset": "1d", "offset_negative": True},
        },
        {"id": "done", "exit": "reminded"},
    ],
}
#: Another journey whose update step moves the appointment.
CORRECTOR = {
    "id": "corrector",
    "trigger": {"api": True},
    "steps": [
        {"id": "move", "update": {"set": {"appointment_at": "{{ context.new_at }}"}}},
        {"id": "done", "exit": "moved"},
    ],
}


async def clock(api: Api) -> Callable[[int], datetime]:
    """``at(days)``: a whole minute ``days`` from the server's now (time skips between
    the tests of a module), in the customer's timezone."""
    now = await api.env.get_current_time()

    def at(days: int) -> datetime:
        later = (now + timedelta(days=days)).astimezone(SHANGHAI)
        return later.replace(second=0, microsecond=0)

    return at


def iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


async def enroll(api: Api, journey: str, phone: str, context: dict[str, Any]) -> str:
    r = await api.admin.post(
        f"/v1/journeys/{journey}/enrollments",
        json={"customer": {"phone": phone}, "context": context},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["enrollment_id"])


async def trace_with(api: Api, enrollment_id: str, kind: str) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]] | None:
        r = await api.admin.get(f"/v1/enrollments/{enrollment_id}")
        trace: list[dict[str, Any]] = r.json()["trace"]
        return trace if any(e["kind"] == kind for e in trace) else None

    found: list[dict[str, Any]] = await api.wait_for(f"a {kind} trace entry", check)
    return found


async def ends_at(api: Api, enrollment_id: str, when: datetime) -> None:
    """The enrollment ends (time skips) with its exit at ``when``."""
    await api.env.sleep((when - await api.env.get_current_time()).total_seconds() + 60)
    assert (await api.result(enrollment_id)).exit_reason == "reminded"
    trace = (await api.admin.get(f"/v1/enrollments/{enrollment_id}")).json()["trace"]
    assert trace[-1]["kind"] == "exit"
    exit_at = datetime.fromisoformat(trace[-1]["at"])
    assert abs((exit_at - when).total_seconds()) < 2


async def test_an_identify_that_moves_the_date_re_plans_the_running_wait(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [BY_ATTRIBUTE]))
    at = await clock(api)
    first, moved = at(10), at(20)
    phone = "13800007001"
    await identify(api, customer={"phone": phone}, attributes={"appointment_at": iso(first)})
    eid = await enroll(api, "by_attribute", phone, {})
    await trace_with(api, eid, "wait")

    r = await api.ingest.post(
        "/v1/identify",
        json={"customer": {"phone": phone}, "attributes": {"appointment_at": iso(moved)}},
    )
    assert r.status_code == 200, r.text
    assert eid in r.json()["signalled"]
    trace = await trace_with(api, eid, "replan")
    (replan,) = [e for e in trace if e["kind"] == "replan"]
    assert (replan["from"], replan["to"]) == (
        iso(first - timedelta(days=1)),
        iso(moved - timedelta(days=1)),
    )
    await ends_at(api, eid, moved - timedelta(days=1))


async def test_an_identify_of_other_attributes_signals_nobody(api: Api, tmp_path: Path) -> None:
    await deploy(api, workspace(tmp_path, [BY_ATTRIBUTE]))
    at = await clock(api)
    phone = "13800007002"
    await identify(api, customer={"phone": phone}, attributes={"appointment_at": iso(at(10))})
    eid = await enroll(api, "by_attribute", phone, {})
    await trace_with(api, eid, "wait")
    r = await api.ingest.post(
        "/v1/identify", json={"customer": {"phone": phone}, "attributes": {"name": "李雷"}}
    )
    assert r.status_code == 200 and r.json()["signalled"] == []


async def test_a_reschedule_event_updates_the_context_and_re_plans(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [BY_CONTEXT]))
    at = await clock(api)
    first, moved = at(10), at(4)
    phone = "13800007003"
    await identify(api, customer={"phone": phone})
    context = {"appointment_id": "AP-9", "appointment_at": iso(first)}
    eid = await enroll(api, "by_context", phone, context)
    await trace_with(api, eid, "wait")

    for appointment_id, when in (("AP-other", at(2)), ("AP-9", moved)):
        r = await api.ingest.post(
            "/v1/track",
            json={
                "message_id": f"reschedule-{appointment_id}",
                "customer": {"phone": phone},
                "event": "appointment.rescheduled",
                "properties": {"appointment_id": appointment_id, "appointment_at": iso(when)},
            },
        )
        assert r.status_code == 202, r.text
    trace = await trace_with(api, eid, "replan")
    # Only the enrollment's own appointment moved it.
    assert [e.get("event") for e in trace if e["kind"] == "context"] == ["appointment.rescheduled"]
    (replan,) = [e for e in trace if e["kind"] == "replan"]
    assert replan["to"] == iso(moved - timedelta(days=1))
    await ends_at(api, eid, moved - timedelta(days=1))


async def test_an_update_step_of_another_journey_re_plans_the_wait(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [BY_ATTRIBUTE, CORRECTOR]))
    at = await clock(api)
    first, moved = at(10), at(6)
    phone = "13800007004"
    await identify(api, customer={"phone": phone}, attributes={"appointment_at": iso(first)})
    waiting = await enroll(api, "by_attribute", phone, {})
    await trace_with(api, waiting, "wait")

    mover = await enroll(api, "corrector", phone, {"new_at": iso(moved)})
    assert (await api.result(mover)).exit_reason == "moved"
    trace = await trace_with(api, waiting, "replan")
    (replan,) = [e for e in trace if e["kind"] == "replan"]
    assert replan["to"] == iso(moved - timedelta(days=1))
    await ends_at(api, waiting, moved - timedelta(days=1))
