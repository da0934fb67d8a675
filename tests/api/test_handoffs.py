"""Handoffs: tasks reach their clinic's staff; completing one resumes the enrollment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

CALLBACK = {
    "id": "callback",
    "name": "回电",
    "trigger": {"api": True},
    "steps": [
        {
            "id": "call",
            "handoff": {
                "queue": "optometrist",
                "clinic": "{{ customer.clinic_id }}",
                "message": "notice",
                "outcomes": {"booked": "done", "declined": "done"},
            },
        },
        {"id": "done", "exit": "called"},
    ],
}


async def enroll_callback(api: Api, tmp_path: Path, clinic: str) -> tuple[str, str]:
    await deploy(api, workspace(tmp_path / "ws", [CALLBACK]))
    customer_id = await identify(
        api, customer={"phone": "13600000001"}, attributes={"name": "王五", "clinic_id": clinic}
    )
    response = await api.admin.post(
        "/v1/journeys/callback/enrollments", json={"customer": {"customer_id": customer_id}}
    )
    assert response.status_code == 201, response.text
    return customer_id, response.json()["enrollment_id"]


async def open_task(api: Api) -> dict[str, Any]:
    async def listed() -> Any:
        return (await api.admin.get("/v1/handoffs", params={"queue": "optometrist"})).json()

    tasks = await api.wait_for("the handoff task", listed)
    assert len(tasks) == 1
    return dict(tasks[0])


async def test_completing_the_task_resumes_the_enrollment(api: Api, tmp_path: Path) -> None:
    customer_id, enrollment_id = await enroll_callback(api, tmp_path, "sz-01")
    task = await open_task(api)
    assert (task["customer_id"], task["enrollment_id"], task["clinic"], task["status"]) == (
        customer_id,
        enrollment_id,
        "sz-01",
        "open",
    )
    assert [t["id"] for t in (await api.staff.get("/v1/handoffs")).json()] == [task["id"]]

    claimed = await api.staff.post(f"/v1/handoffs/{task['id']}/claim")
    assert (claimed.status_code, claimed.json()["status"]) == (200, "claimed")
    wrong = await api.staff.post(f"/v1/handoffs/{task['id']}/complete", json={"outcome": "maybe"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"] == [
        {"field": "outcome", "message": "'maybe' is not an outcome of step call: booked, declined"}
    ]
    done = await api.staff.post(
        f"/v1/handoffs/{task['id']}/complete", json={"outcome": "booked", "note": "周三上午"}
    )
    assert (done.status_code, done.json()["status"], done.json()["outcome"]) == (
        200,
        "done",
        "booked",
    )

    assert (await api.result(enrollment_id)).status == "completed"
    enrollment = (await api.admin.get(f"/v1/enrollments/{enrollment_id}")).json()
    assert enrollment["status"] == "completed"
    assert [(e.get("step"), e["kind"], e.get("outcome")) for e in enrollment["trace"]] == [
        ("call", "handoff", "created"),
        ("call", "handoff", "booked"),
        ("done", "exit", None),
    ]
    assert (await api.staff.get("/v1/handoffs")).json() == []
    steps = (await api.admin.get("/v1/journeys/callback/steps")).json()
    assert steps["steps"] == {"call": {"handoff": 2}, "done": {"exit": 1}}


async def test_staff_of_another_clinic_neither_see_nor_work_the_task(
    api: Api, tmp_path: Path
) -> None:
    _, enrollment_id = await enroll_callback(api, tmp_path, "sz-01")
    task = await open_task(api)
    assert (await api.other_staff.get("/v1/handoffs")).json() == []
    for action, body in (("claim", None), ("complete", {"outcome": "booked"})):
        response = await api.other_staff.post(f"/v1/handoffs/{task['id']}/{action}", json=body)
        assert response.status_code == 404, response.text
    assert (await api.admin.get(f"/v1/enrollments/{enrollment_id}")).json()["status"] == "running"


async def test_a_task_claimed_by_someone_else_is_a_conflict(api: Api, tmp_path: Path) -> None:
    await enroll_callback(api, tmp_path, "sz-01")
    task = await open_task(api)
    assert (await api.admin.post(f"/v1/handoffs/{task['id']}/claim")).status_code == 200
    response = await api.staff.post(f"/v1/handoffs/{task['id']}/claim")
    assert response.status_code == 409
    assert "claimed by api:admin-test" in response.json()["detail"]
