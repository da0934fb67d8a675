"""GET /v1/journeys/{id}/steps on the real dev server: reached, waiting now (search
attributes through Temporal visibility), sends by outcome and handoffs by state are
exact for enrollments spread over the steps, and follow each move within seconds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Stack
from tests.e2e.test_service import identify, phone
from tests.factories import workspace

JOURNEY = {
    "id": "step_counts",
    "trigger": {"api": True},
    "steps": [
        {"id": "rest", "wait_for": {"event": "steps.go", "timeout": "1d"}},
        {"id": "call", "handoff": {"queue": "steps_q", "outcomes": {"booked": "end"}}},
        {"id": "end", "exit": "booked"},
    ],
}


def expected(rest: tuple[int, int], call: tuple[int, int], open_: int, done: int, end: int) -> Any:
    handoffs = {k: v for k, v in (("open", open_), ("done", done)) if v}
    return {
        "rest": {"reached": rest[0], "waiting_now": rest[1], "sends": {}, "handoffs": {}},
        "call": {"reached": call[0], "waiting_now": call[1], "sends": {}, "handoffs": handoffs},
        "end": {"reached": end, "waiting_now": 0, "sends": {}, "handoffs": {}},
    }


async def counts_become(stack: Stack, want: Any, timeout: float = 5.0) -> Any:
    """The route's by_step once it equals ``want``, or what it said after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        response = await stack.http.get("/v1/journeys/step_counts/steps", headers=stack.headers())
        assert response.status_code == 200, response.text
        got = response.json()["by_step"]
        if got == want or loop.time() > deadline:
            return got
        await asyncio.sleep(0.1)


async def open_tasks(stack: Stack) -> dict[str, str]:
    """Open handoff tasks of the journey: enrollment id -> task id."""
    tasks = (
        await stack.http.get("/v1/handoffs", params={"queue": "steps_q"}, headers=stack.headers())
    ).json()
    return {t["enrollment_id"]: t["id"] for t in tasks}


async def test_waiting_now_and_reached_are_exact_per_step(stack: Stack, tmp_path: Path) -> None:
    stack.dispatcher.deploy(workspace(tmp_path / "ws", [JOURNEY]))
    customers = [await identify(stack, {"phone": phone()}, name="王五") for _ in range(6)]
    enrollments = []
    for cid in customers:
        body = {"customer": {"customer_id": cid}, "context": {}}
        started = await stack.http.post(
            "/v1/journeys/step_counts/enrollments", json=body, headers=stack.headers()
        )
        assert started.status_code == 201, started.text
        enrollments.append(started.json()["enrollment_id"])
    assert await counts_become(stack, expected((6, 6), (0, 0), 0, 0, 0)) == expected(
        (6, 6), (0, 0), 0, 0, 0
    )

    # Four move on to the call; two of those calls are booked and finish.
    for cid in customers[2:]:
        assert (await stack.track({"customer_id": cid}, "steps.go")).status_code == 202
    want = expected((6, 2), (4, 4), 4, 0, 0)
    assert await counts_become(stack, want) == want
    tasks = await open_tasks(stack)
    for enrollment_id in enrollments[4:]:
        done = await stack.http.post(
            f"/v1/handoffs/{tasks[enrollment_id]}/complete",
            json={"outcome": "booked"},
            headers=stack.headers(),
        )
        assert done.status_code == 200, done.text
    want = expected((6, 2), (4, 2), 2, 2, 2)
    assert await counts_become(stack, want) == want

    # One more move: a customer still resting moves to the call.
    assert (await stack.track({"customer_id": customers[0]}, "steps.go")).status_code == 202
    want = expected((6, 1), (5, 3), 3, 2, 2)
    assert await counts_become(stack, want) == want
