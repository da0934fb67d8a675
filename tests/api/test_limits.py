"""Limits on one request: body size (413), list lengths (422 naming the field), and a
large identify that leaves the event loop free for everyone else."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.schemas.chats import MAX_MESSAGES
from api.schemas.common import MAX_KEYS, MAX_TAGS
from api.schemas.ingest import MAX_BATCH, MAX_GUARDIANS
from engine.settings import Settings
from tests.api.helpers import Api

pytestmark = pytest.mark.db

MIB = 1_048_576


def event(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "customer": {"phone": f"1380000{n:04d}"},
        "event": "form.submitted",
        "message_id": f"m-{n}",
        **extra,
    }


def chat(n: int) -> dict[str, Any]:
    return {
        "kind": "wecom",
        "msgid": f"msg-{n}",
        "external_userid": "wm-1",
        "staff_userid": "s",
        "sender": "customer",
        "text": "hi",
    }


@pytest.mark.parametrize(
    "path",
    ["/v1/track", "/v1/identify", "/v1/chats", "/v1/customers/c-nobody/tags"],
)
async def test_a_body_over_the_limit_is_413_and_not_stored(api: Api, path: str) -> None:
    assert Settings().api.max_body_bytes == MIB
    body = event(1, properties={"blob": "x" * (MIB + 10)})
    response = await api.admin.post(path, json=body)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert f"{MIB} bytes" in response.json()["detail"]
    events = await api.admin.get("/v1/customers/c-nobody/events")
    assert events.status_code == 404


async def _chunks(total: int) -> AsyncIterator[bytes]:
    yield b'{"customer": {"phone": "13800000001"}, "event": "x", "message_id": "m", '
    yield b'"properties": {"blob": "'
    sent = 0
    while sent < total:
        yield b"x" * 65536
        sent += 65536
    yield b'"}}'


async def test_a_chunked_body_without_content_length_is_counted(api: Api) -> None:
    response = await api.ingest.post(
        "/v1/track", content=_chunks(2 * MIB), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "content-length" not in response.request.headers


async def test_a_body_within_the_limit_is_stored(api: Api) -> None:
    body = event(1, properties={"blob": "x" * (MIB - 1000)})
    response = await api.ingest.post("/v1/track", json=body)
    assert response.status_code == 202, response.text[:300]


async def test_callbacks_have_a_smaller_limit(api: Api) -> None:
    limit = Settings().api.max_callback_body_bytes
    assert limit < MIB
    response = await api.anonymous.post("/callbacks/tencent-sms", content=b"[" * (limit + 1))
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/track", {"batch": [event(n) for n in range(MAX_BATCH + 1)]}, "batch"),
        ("/v1/chats", {"messages": [chat(n) for n in range(MAX_MESSAGES + 1)]}, "messages"),
        (
            "/v1/identify",
            {"customer": {"phone": "13800000001"}, "tags": [f"t{n}" for n in range(MAX_TAGS + 1)]},
            "tags",
        ),
        (
            "/v1/identify",
            {
                "customer": {"phone": "13800000001"},
                "guardians": [
                    {"identities": {"phone": f"1390000{n:04d}"}} for n in range(MAX_GUARDIANS + 1)
                ],
            },
            "guardians",
        ),
        (
            "/v1/identify",
            {
                "customer": {"phone": "13800000001"},
                "attributes": {f"a{n}": n for n in range(MAX_KEYS + 1)},
            },
            "attributes",
        ),
        (
            "/v1/identify",
            {"customer": {"phone": "1" * 200}},
            "customer.phone",
        ),
        (
            "/v1/customers/c-nobody/tags",
            {"add": [f"t{n}" for n in range(MAX_TAGS + 1)]},
            "add",
        ),
    ],
)
async def test_an_over_long_list_is_422_naming_the_field(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = await api.admin.post(path, json=body)
    assert response.status_code == 422, response.text[:300]
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_healthz_answers_while_a_large_identify_works(api: Api) -> None:
    # A slow database, as on a busy PostgreSQL: each guardian link takes 50 ms of a
    # thread's time. Done on the event loop, nothing else would answer meanwhile.
    order: list[str] = []
    link = api.store.link_guardian

    def slow_link(*args: Any, **kwargs: Any) -> bool:
        time.sleep(0.05)
        order.append("link")
        return link(*args, **kwargs)

    api.store.link_guardian = slow_link  # type: ignore[method-assign]
    body = {
        "customer": {"phone": "13800000001"},
        "guardians": [{"identities": {"phone": f"1390000{n:04d}"}} for n in range(MAX_GUARDIANS)],
    }
    big = asyncio.create_task(api.ingest.post("/v1/identify", json=body))
    await api.wait_for("the first guardian link", lambda: _true_if(order))
    health = await api.anonymous.get("/healthz")
    order.append("healthz")
    response = await big
    assert response.status_code == 200, response.text
    assert health.status_code == 200
    # /healthz answered between two links of the identify, not after all of them.
    assert order.index("healthz") < len(order) - 1, order
    assert order.count("link") == MAX_GUARDIANS


async def _true_if(found: list[str]) -> bool:
    return bool(found)


async def test_limits_come_from_settings(api: Api) -> None:
    settings = Settings.model_validate({"api": {"max_body_bytes": 2048}})
    app = create_app(api.store, api.dispatcher, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://carepath.test") as c:
        response = await c.post("/v1/track", content=b"x" * 4096)
    assert response.status_code == 413
    assert "2048 bytes" in response.json()["detail"]
