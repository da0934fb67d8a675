"""The service end to end: real Temporal dev server, worker, API over HTTP, simulators."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.db]


def phone() -> str:
    return f"+86139{uuid.uuid4().int % 10**8:08d}"


async def identify(stack: Stack, customer: dict[str, Any], **attributes: Any) -> str:
    body = {"customer": customer, "attributes": attributes}
    response = await stack.http.post("/v1/identify", json=body, headers=stack.headers("ingest"))
    assert response.status_code == 200, response.text
    return str(response.json()["customer_id"])


async def wait_for_task(stack: Stack, enrollment_id: str, timeout: float = 30) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        tasks = (
            await stack.http.get(
                "/v1/handoffs", params={"queue": "optometrist"}, headers=stack.headers("staff")
            )
        ).json()
        for task in tasks:
            if task["enrollment_id"] == enrollment_id:
                return dict(task)
        await asyncio.sleep(0.2)
    raise AssertionError(f"no handoff task for {enrollment_id}")


async def test_tag_starts_a_journey_that_hands_off_and_completes(stack: Stack) -> None:
    cid = await identify(stack, {"phone": phone()}, name="张三", clinic_id="sz-01")
    tagged = await stack.http.post(
        f"/v1/customers/{cid}/tags", json={"add": ["回访"]}, headers=stack.headers()
    )
    assert tagged.status_code == 200, tagged.text
    (enrolled,) = tagged.json()["enrolled"]
    enrollment_id = f"journey:tag_call:customer:{cid}"
    assert enrolled.startswith("tag_call")
    task = await wait_for_task(stack, enrollment_id)  # after the SMS receipt came back
    assert task["clinic"] == "sz-01" and "张三" in task["script"]
    done = await stack.http.post(
        f"/v1/handoffs/{task['id']}/complete",
        json={"outcome": "booked"},
        headers=stack.headers("staff"),
    )
    assert done.status_code == 200, done.text
    view = await stack.settle(enrollment_id)
    assert view["status"] == "completed" and view["exit_reason"] == "booked"
    kinds = [(e["kind"], e.get("channel"), e.get("outcome")) for e in view["trace"]]
    assert ("attempt", "wechat_template", "skipped") in kinds
    assert ("receipt", "sms", "delivered") in kinds  # pushed by the simulator over HTTP
    assert ("handoff", None, "booked") in kinds


async def test_event_trigger_idempotent_ingest_and_forwarding(stack: Stack) -> None:
    customer = {"phone": phone()}
    body = {
        "customer": customer,
        "event": "consult.requested",
        "properties": {"kind": "online"},
        "message_id": uuid.uuid4().hex,
    }
    first = await stack.http.post("/v1/track", json=body, headers=stack.headers("ingest"))
    again = await stack.http.post("/v1/track", json=body, headers=stack.headers("ingest"))
    assert first.status_code == again.status_code == 202
    assert first.json()["enrolled"] == ["event_wait:started"]
    assert again.json()["accepted"][0]["duplicate"] is True and again.json()["enrolled"] == []
    cid = first.json()["accepted"][0]["customer_id"]
    events = (await stack.http.get(f"/v1/customers/{cid}/events", headers=stack.headers())).json()
    assert [e["name"] for e in events] == ["consult.requested"]  # stored once
    offline = await stack.track(customer, "consult.requested", kind="offline")
    assert offline.json()["enrolled"] == []  # the trigger's where does not match
    started = await stack.track(customer, "consult.started")
    assert started.json()["signalled"] == [f"journey:event_wait:customer:{cid}"]
    view = await stack.settle(f"journey:event_wait:customer:{cid}")
    assert view["exit_reason"] == "met"


async def test_identity_merge_moves_a_running_enrollment(stack: Stack) -> None:
    number, openid = phone(), f"o-{uuid.uuid4().hex[:10]}"
    older = await identify(stack, {"phone": number}, name="李四")
    response = await stack.track({"wechat_openid": openid}, "consult.requested", kind="online")
    newer = response.json()["accepted"][0]["customer_id"]
    assert newer != older
    merged = await stack.http.post(
        "/v1/identify",
        headers=stack.headers("ingest"),
        json={"customer": {"phone": number, "wechat_openid": openid}},
    )
    assert merged.json()["customer_id"] == older
    assert [m["merged_id"] for m in merged.json()["merges"]] == [newer]
    profile = (await stack.http.get(f"/v1/customers/{older}", headers=stack.headers())).json()
    assert profile["id"] == older
    events = (await stack.http.get(f"/v1/customers/{older}/events", headers=stack.headers())).json()
    assert "consult.requested" in [e["name"] for e in events]  # moved with the merge
    enrollments = (
        await stack.http.get(f"/v1/customers/{older}/enrollments", headers=stack.headers())
    ).json()
    (moved,) = [e for e in enrollments if e["journey_id"] == "event_wait"]
    # The event now reaches the moved enrollment through the surviving customer.
    forwarded = await stack.track({"phone": number}, "consult.started")
    assert forwarded.json()["signalled"] == [moved["id"]]
    assert (await stack.settle(moved["id"]))["exit_reason"] == "met"


async def test_worker_restart_mid_journey_loses_nothing_and_sends_once(stack: Stack) -> None:
    number = phone()
    response = await stack.track({"phone": number}, "restart.go")
    cid = response.json()["accepted"][0]["customer_id"]
    enrollment_id = f"journey:two_sends:customer:{cid}"

    def sent() -> int:
        return sum(1 for m in stack.sims.sms.messages if number in m.recipient)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while sent() < 1 and loop.time() < deadline:
        await asyncio.sleep(0.05)
    assert sent() == 1
    await stack.stop_worker()  # the 3s timer fires while no worker runs
    await asyncio.sleep(4)
    assert sent() == 1
    await stack.start_worker()
    view = await stack.settle(enrollment_id)
    assert view["exit_reason"] == "both_sent"
    assert sent() == 2
    seqs = [e["kind"] for e in view["trace"]]
    assert seqs.count("send") == 2 and seqs.count("attempt") == 2


async def test_keys_scopes_and_readable_422(stack: Stack) -> None:
    anonymous = await stack.http.get("/v1/journeys")
    assert anonymous.status_code == 401
    ingest = await stack.http.get("/v1/journeys", headers=stack.headers("ingest"))
    assert ingest.status_code == 403
    staff_other = await stack.http.get(
        "/v1/handoffs", params={"clinic": "bj-09"}, headers=stack.headers("staff")
    )
    assert staff_other.status_code == 403
    bad = await stack.http.post(
        "/v1/track",
        headers=stack.headers("ingest"),
        json={
            "batch": [
                {"customer": {"phone": "13800000000"}, "event": "x", "message_id": "m1"},
                {"customer": {}, "event": "x", "message_id": "m2"},
            ]
        },
    )
    assert bad.status_code == 422
    fields = [e["field"] for e in bad.json()["errors"]]
    assert any(f.startswith("batch.1.customer") for f in fields), bad.json()
