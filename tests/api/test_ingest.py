"""Ingest: idempotent per message_id, and events start the journeys they trigger."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.helpers import Api, deploy, identify

pytestmark = pytest.mark.db


def fitted(message_id: str, phone: str = "13700000001") -> dict[str, Any]:
    # Fitted now: the enrollment waits for the day-1 check until the test cancels it.
    lens = {"lens_id": "L-88", "fitted_at": datetime.now(UTC).isoformat()}
    return {
        "customer": {"phone": phone},
        "event": "orthok.fitted",
        "properties": lens,
        "message_id": message_id,
    }


async def consenting_customer(api: Api, phone: str = "13700000001") -> str:
    return await identify(
        api,
        customer={"phone": phone, "wechat_openid": f"o-{phone}"},
        attributes={"name": "小林", "clinic_id": "sz-01", "clinic_name": "深圳南山店"},
        consents=[{"purpose": "health_data", "granted": True}],
    )


async def test_an_event_enrolls_and_the_enrollment_shows_its_trace(api: Api) -> None:
    await deploy(api)
    customer_id = await consenting_customer(api)

    response = await api.ingest.post("/v1/track", json=fitted("m-fit-1"))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == [
        {"message_id": "m-fit-1", "customer_id": customer_id, "duplicate": False}
    ]
    assert body["enrolled"] == ["orthok_followup:started"]

    enrollment_id = f"journey:orthok_followup:customer:{customer_id}:key:L-88"

    async def waiting() -> Any:
        found = (await api.admin.get(f"/v1/enrollments/{enrollment_id}")).json()
        return found if found["trace"] else None

    enrollment = await api.wait_for("the first trace entry", waiting)
    assert enrollment["status"] == "running"
    assert enrollment["key"] == "L-88"
    assert enrollment["trace"][0]["step"] == "day1"
    assert enrollment["trace"][0]["kind"] == "wait"
    listed = (await api.staff.get(f"/v1/customers/{customer_id}/enrollments")).json()
    assert [e["id"] for e in listed] == [enrollment_id]

    cancel = await api.admin.post(
        f"/v1/enrollments/{enrollment_id}/cancel", json={"reason": "lens returned"}
    )
    assert cancel.status_code == 202
    assert cancel.json() == {
        "enrollment_id": enrollment_id,
        "signalled": True,
        "dispatch_pending": False,
    }
    assert (await api.result(enrollment_id)).status == "exited"
    ended = (await api.admin.get(f"/v1/enrollments/{enrollment_id}")).json()
    assert ended["status"] == "exited"
    assert ended["trace"][-1] == {
        "at": ended["trace"][-1]["at"],
        "step": "day1",
        "kind": "exit",
        "reason": "lens returned",
    }


async def test_the_same_message_id_is_stored_and_acted_on_once(api: Api) -> None:
    await deploy(api)
    customer_id = await consenting_customer(api, phone="13700000002")
    first = (await api.ingest.post("/v1/track", json=fitted("m-once", "13700000002"))).json()
    again = await api.ingest.post("/v1/track", json=fitted("m-once", "13700000002"))
    assert again.status_code == 202
    assert first["accepted"][0]["duplicate"] is False
    assert again.json()["accepted"] == [
        {"message_id": "m-once", "customer_id": customer_id, "duplicate": True}
    ]
    assert (first["enrolled"], again.json()["enrolled"]) == (["orthok_followup:started"], [])
    events = (await api.admin.get(f"/v1/customers/{customer_id}/events")).json()
    assert [e["message_id"] for e in events] == ["m-once"]
    enrollments = (await api.admin.get(f"/v1/customers/{customer_id}/enrollments")).json()
    assert len(enrollments) == 1


async def test_a_batch_is_stored_in_order_and_creates_customers(api: Api) -> None:
    now = datetime.now(UTC).isoformat()
    batch = [
        {"customer": {"phone": "13900000001"}, "event": "page.viewed", "message_id": "b-1"},
        {
            "customer": {"phone": "13900000001", "wechat_openid": "o-b"},
            "event": "package.viewed",
            "properties": {"package": "青少年验光套餐"},
            "timestamp": now,
            "message_id": "b-2",
        },
        {"customer": {"wechat_openid": "o-b"}, "event": "page.viewed", "message_id": "b-1"},
    ]
    response = await api.ingest.post("/v1/track", json={"batch": batch})
    assert response.status_code == 202, response.text
    accepted = response.json()["accepted"]
    assert [(a["message_id"], a["duplicate"]) for a in accepted] == [
        ("b-1", False),
        ("b-2", False),
        ("b-1", True),
    ]
    assert len({a["customer_id"] for a in accepted}) == 1
    profile = (await api.admin.get(f"/v1/customers/{accepted[0]['customer_id']}")).json()
    assert {(i["kind"], i["value"]) for i in profile["identities"]} == {
        ("phone", "+8613900000001"),
        ("wechat_openid", "o-b"),
    }


async def test_events_stored_while_temporal_is_down_are_dispatched_later(
    api: Api, tmp_path: Any
) -> None:
    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from api.app import create_app
    from cli.devserver import free_port
    from engine.dispatch.dispatcher import Dispatcher
    from engine.settings import Settings

    await deploy(api)
    customer_id = await consenting_customer(api)
    # The same store, but a Temporal frontend that is not there.
    down = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    app = create_app(api.store, Dispatcher(down, api.store, "nowhere"), Settings())
    import httpx

    headers = dict(api.ingest.headers)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://down.test", headers=headers
    ) as client:
        response = await client.post("/v1/track", json=fitted("m-down-1"))
    assert response.status_code == 202, response.text
    assert response.json()["dispatch_pending"] is True
    assert response.json()["enrolled"] == []
    (pending,) = api.store.undispatched_events(datetime.now(UTC))
    assert pending.message_id == "m-down-1"
    # Temporal is reachable again: the sweep enrolls the customer, once.
    assert await api.dispatcher.sweep(older_than=0) == 1
    assert await api.dispatcher.sweep(older_than=0) == 0
    enrollment_id = f"journey:orthok_followup:customer:{customer_id}:key:L-88"
    assert api.store.get_enrollment(enrollment_id).status == "running"


async def test_concurrent_requests_each_get_their_own_events_back(api: Api) -> None:
    # Requests in flight together are stored together (group commit); each answer
    # still speaks of its own events only, and a message_id sent twice is stored once.
    def body(n: int) -> dict[str, Any]:
        one = {"customer": {"phone": f"1390000{n:04d}"}, "event": "page.viewed"}
        if n % 3:
            return {**one, "message_id": f"c-{n}"}
        return {"batch": [{**one, "message_id": f"c-{n}"}, {**one, "message_id": f"c-{n}b"}]}

    numbers = [*range(24), 5]  # c-5 again
    responses = await asyncio.gather(*(api.ingest.post("/v1/track", json=body(n)) for n in numbers))
    assert [r.status_code for r in responses] == [202] * 25
    for n, response in zip(numbers, responses, strict=True):
        ids = [a["message_id"] for a in response.json()["accepted"]]
        assert ids == ([f"c-{n}"] if n % 3 else [f"c-{n}", f"c-{n}b"])
    duplicates = [a["duplicate"] for r in responses for a in r.json()["accepted"]]
    assert duplicates.count(True) == 1
    customer = responses[5].json()["accepted"][0]["customer_id"]
    assert [e.message_id for e in api.store.list_events(customer)] == ["c-5"]
