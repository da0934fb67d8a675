"""The Segment HTTP tracking API: each field's mapping, write-key auth, gzip, bad bodies."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.helpers import Api, deploy, identify

pytestmark = pytest.mark.db

NOW = datetime.now(UTC).replace(microsecond=0)


def secret(client: httpx.AsyncClient) -> str:
    return str(client.headers["Authorization"]).split(" ", 1)[1]


async def post(
    api: Api, path: str, body: Any, *, key: str | None = "ingest", **headers: str
) -> httpx.Response:
    """A call as Segment's SDKs make it: the key as the Basic user name, no password."""
    auth = (secret(getattr(api, key)), "") if key else None
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await api.anonymous.post(
        f"/segment/v1/{path}",
        content=content,
        auth=auth,
        headers={"Content-Type": "application/json", **headers},
    )


async def customer_of(api: Api, **identity: str) -> str:
    return await identify(api, customer=identity)


async def events_of(api: Api, customer_id: str) -> list[dict[str, Any]]:
    response = await api.admin.get(f"/v1/customers/{customer_id}/events")
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_track_maps_ids_event_properties_time_and_is_stored_once(api: Api) -> None:
    call = {
        "userId": "M-1001",
        "anonymousId": "anon-1",
        "event": "form.submitted",
        "properties": {"form_id": "screening"},
        "messageId": "seg-1",
        "timestamp": (NOW - timedelta(hours=1)).isoformat(),
        "integrations": {"All": True},
        "context": {"library": {"name": "analytics-python"}},
    }
    response = await post(api, "track", call)
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    assert (await post(api, "track", call)).json() == {"success": True}  # a retry

    customer = await customer_of(api, user_id="M-1001")
    assert customer == await customer_of(api, anonymous_id="anon-1")
    events = await events_of(api, customer)
    assert len(events) == 1
    event = events[0]
    assert (event["name"], event["message_id"]) == ("form.submitted", "seg-1")
    assert event["properties"] == {"form_id": "screening"}
    assert datetime.fromisoformat(event["at"]) == NOW - timedelta(hours=1)


async def test_original_timestamp_is_corrected_by_sent_at(api: Api) -> None:
    # The sender's clock is a day fast; the event happened 10 minutes before it sent.
    fast = NOW + timedelta(days=1)
    call = {
        "anonymousId": "anon-clock",
        "event": "content.viewed",
        "messageId": "seg-clock",
        "originalTimestamp": (fast - timedelta(minutes=10)).isoformat(),
        "sentAt": fast.isoformat(),
    }
    assert (await post(api, "track", call)).status_code == 200
    customer = await customer_of(api, anonymous_id="anon-clock")
    at = datetime.fromisoformat((await events_of(api, customer))[0]["at"])
    expected = datetime.now(UTC) - timedelta(minutes=10)
    assert abs((at - expected).total_seconds()) < 30


async def test_page_is_page_viewed_and_its_campaign_a_utm_touch(api: Api) -> None:
    call = {
        "anonymousId": "anon-page",
        "name": "mall",
        "properties": {"path": "/mall", "content_id": "c-9"},
        "messageId": "seg-page",
        "context": {
            "campaign": {
                "source": "baidu",
                "medium": "cpc",
                "name": "summer",
                "term": "近视",
                "content": "ad-1",
            }
        },
    }
    assert (await post(api, "page", call)).status_code == 200
    customer = await customer_of(api, anonymous_id="anon-page")
    [event] = await events_of(api, customer)
    assert event["name"] == "page.viewed"
    assert event["properties"] == {
        "path": "/mall",
        "content_id": "c-9",
        "page": "mall",
        "utm_source": "baidu",
        "utm_medium": "cpc",
        "utm_campaign": "summer",
        "utm_term": "近视",
        "utm_content": "ad-1",
    }
    touches = (await api.admin.get(f"/v1/customers/{customer}/touches")).json()
    assert [t["kind"] for t in touches] == ["utm_visit"]
    assert touches[0]["fields"]["utm_source"] == "baidu"
    assert touches[0]["fields"]["utm_campaign"] == "summer"


async def test_identify_traits_are_identities_and_attributes_and_merge(api: Api) -> None:
    # A visitor known by device first, then by member id: one customer (the older).
    assert (await post(api, "track", {"anonymousId": "anon-m", "event": "x"})).status_code == 200
    visitor = await customer_of(api, anonymous_id="anon-m")
    call = {
        "userId": "M-2002",
        "anonymousId": "anon-m",
        "traits": {
            "phone": "138 0013 8000",
            "wechat_openid": "o-seg",
            "wechat_unionid": "u-seg",
            "name": "小林",
            "clinic_id": "sz-01",
        },
    }
    assert (await post(api, "identify", call)).status_code == 200
    for identity in (
        {"user_id": "M-2002"},
        {"phone": "+8613800138000"},
        {"wechat_openid": "o-seg"},
        {"wechat_unionid": "u-seg"},
    ):
        assert await customer_of(api, **identity) == visitor, identity
    profile = (await api.admin.get(f"/v1/customers/{visitor}")).json()
    assert profile["attributes"] == {"name": "小林", "clinic_id": "sz-01"}


async def test_a_batch_acts_in_order_and_a_retried_batch_once(api: Api) -> None:
    body = {
        "batch": [
            {"type": "identify", "userId": "M-3", "traits": {"phone": "13900139003"}},
            {"type": "track", "userId": "M-3", "event": "appointment.booked", "messageId": "b1"},
            {"type": "page", "userId": "M-3", "name": "home", "messageId": "b2"},
            {"type": "screen", "userId": "M-3", "name": "ignored"},
        ],
        "sentAt": NOW.isoformat(),
        "writeKey": "ignored",
    }
    for _ in range(2):
        response = await post(api, "batch", body)
        assert response.status_code == 200, response.text
    customer = await customer_of(api, phone="13900139003")
    events = await events_of(api, customer)
    assert sorted(e["message_id"] for e in events) == ["b1", "b2"]


async def test_a_tracked_event_starts_its_journey(api: Api) -> None:
    await deploy(api)
    customer = await identify(
        api,
        customer={"phone": "13700000009", "user_id": "M-9", "wechat_openid": "o-9"},
        attributes={"name": "小林", "clinic_id": "sz-01", "clinic_name": "深圳南山店"},
        consents=[{"purpose": "health_data", "granted": True}],
    )
    lens = {"lens_id": "L-9", "fitted_at": datetime.now(UTC).isoformat()}
    call = {"userId": "M-9", "event": "orthok.fitted", "properties": lens, "messageId": "f-9"}
    assert (await post(api, "track", call)).status_code == 200
    enrollment = f"journey:orthok_followup:customer:{customer}:key:L-9"

    async def running() -> Any:
        found = await api.admin.get(f"/v1/enrollments/{enrollment}")
        return found.status_code == 200 and found.json()["status"] == "running"

    await api.wait_for("the journey the event triggers", running)


async def test_the_write_key_is_an_ingest_key(api: Api) -> None:
    call = {"anonymousId": "anon-auth", "event": "x"}
    assert (await post(api, "track", call, key=None)).status_code == 401
    wrong = await api.anonymous.post("/segment/v1/track", json=call, auth=("cp_not-a-key", ""))
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    staff = await post(api, "track", call, key="staff")
    assert staff.status_code == 403
    assert "ingest" in staff.json()["detail"]
    assert (await post(api, "track", call, key="admin")).status_code == 200
    bearer = await api.ingest.post("/segment/v1/track", json=call)  # as every other route
    assert bearer.status_code == 200


async def test_gzip_bodies_are_read_and_bad_ones_refused(api: Api) -> None:
    call = {"anonymousId": "anon-gz", "event": "gz.sent", "messageId": "gz-1"}
    packed = gzip.compress(json.dumps({"batch": [{**call, "type": "track"}]}).encode())
    ok = await post(api, "batch", packed, **{"Content-Encoding": "gzip"})
    assert ok.status_code == 200, ok.text
    assert [
        e["name"] for e in await events_of(api, await customer_of(api, anonymous_id="anon-gz"))
    ] == ["gz.sent"]

    bad = await post(api, "track", b"not gzip at all", **{"Content-Encoding": "gzip"})
    assert bad.status_code == 400
    assert "gzip" in bad.json()["detail"]
    cut = await post(api, "track", packed[:-12], **{"Content-Encoding": "gzip"})
    assert cut.status_code == 400
    # Small on the wire, too large once inflated (the default limit is 1 MiB).
    padding = {**call, "properties": {"pad": "x" * 2_000_000}}
    bomb = await post(
        api, "track", gzip.compress(json.dumps(padding).encode()), **{"Content-Encoding": "gzip"}
    )
    assert bomb.status_code == 413
    assert "decompresses" in bomb.json()["detail"]
    other = await post(api, "track", b"{}", **{"Content-Encoding": "br"})
    assert other.status_code == 415


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("track", {"event": "x"}, "body"),  # nobody: neither userId nor anonymousId
        ("track", {"userId": "M-1"}, "event"),
        ("track", {"userId": "M-1", "event": "x", "timestamp": "yesterday"}, "timestamp"),
        ("track", {"userId": "M-1" * 50, "event": "x"}, "userId"),
        ("identify", {"userId": "M-1", "traits": {"phone": "12"}}, "traits.phone"),
        ("batch", {"batch": [{"type": "jump", "userId": "M-1"}]}, "batch.0"),
        ("batch", {"batch": [{"type": "track", "userId": "M-1"}]}, "batch.0.event"),
        ("batch", {"batch": []}, "batch"),
    ],
)
async def test_bad_calls_are_refused_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = await post(api, path, body)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]], response.json()


async def test_a_bad_call_in_a_batch_writes_nothing(api: Api) -> None:
    body = {
        "batch": [
            {"type": "track", "anonymousId": "anon-all", "event": "x", "messageId": "n-1"},
            {"type": "identify", "anonymousId": "anon-all", "traits": {"phone": "12"}},
        ]
    }
    assert (await post(api, "batch", body)).status_code == 422
    assert (await post(api, "batch", b"{not json")).status_code == 400
    lookup = await api.ingest.post("/v1/identify", json={"customer": {"anonymous_id": "anon-all"}})
    assert lookup.json()["created"] is True
