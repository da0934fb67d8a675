"""422 problems name each bad field by its dotted path, and a bad batch writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.errors import NotFound
from engine.store.records import Identities
from tests.api.helpers import Api

pytestmark = pytest.mark.db


def event(n: int, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "customer": {"phone": f"1380000{n:04d}"},
        "event": "form.submitted",
        "properties": {"form_id": "vision_feedback"},
        "timestamp": "2026-03-02T10:00:00+08:00",
        "message_id": f"m-{n}",
    }
    base.update(fields)
    return base


async def problems(api: Api, body: Any) -> dict[str, str]:
    response = await api.ingest.post("/v1/track", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert set(problem) == {"type", "title", "status", "detail", "errors"}
    assert problem["status"] == 422
    return {e["field"]: e["message"] for e in problem["errors"]}


async def test_missing_identities(api: Api) -> None:
    no_customer = event(1)
    del no_customer["customer"]
    assert await problems(api, no_customer) == {"customer": "is required"}
    empty = await problems(api, event(1, customer={}))
    assert list(empty) == ["customer"]
    assert empty["customer"].startswith("give at least one identity: customer_id, phone")


async def test_bad_phone_names_the_field(api: Api) -> None:
    found = await problems(api, event(1, customer={"phone": "12"}))
    assert found == {
        "customer.phone": "'12' is not a phone number: write e.g. 13800000000 or +8613800000000"
    }


async def test_bad_and_naive_timestamps(api: Api) -> None:
    bad = await problems(api, event(1, timestamp="yesterday"))
    assert bad["timestamp"].startswith("is not a date-time: write ISO 8601 with a UTC offset")
    naive = await problems(api, event(1, timestamp="2026-03-02T10:00:00"))
    assert naive == {"timestamp": "needs a UTC offset, e.g. 2026-03-02T10:00:00+08:00"}


async def test_unknown_and_missing_fields(api: Api) -> None:
    body = event(1, evnt="typo")
    del body["message_id"]
    assert await problems(api, body) == {
        "evnt": "is not a field of this request; check the spelling",
        "message_id": "is required",
    }


async def test_a_batch_with_one_bad_event_writes_nothing(api: Api) -> None:
    batch = [event(1), event(2), event(3, timestamp="2026-13-45")]
    found = await problems(api, {"batch": batch})
    assert list(found) == ["batch.2.timestamp"]
    for n in (1, 2, 3):  # not even the customers of the good events were created
        with pytest.raises(NotFound):
            phone = Identities(phone=f"1380000{n:04d}")
            api.store.resolve(phone, create=False, at=datetime.now(UTC))


async def test_an_empty_batch_and_a_body_that_is_not_json(api: Api) -> None:
    assert await problems(api, {"batch": []}) == {"batch": "needs at least 1 item(s)"}
    response = await api.ingest.post(
        "/v1/track", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("is not valid JSON")


async def test_a_bad_phone_when_identifying(api: Api) -> None:
    response = await api.ingest.post(
        "/v1/identify", json={"customer": {"phone": "+86 138"}, "attributes": {}}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["customer.phone"]
