"""Bad input is a 4xx problem that names what is wrong, on every kind of route.

Each case is sent to /v1/track, /v1/identify, /v1/chats and a customers route; none
may be a 500, none may write anything.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.errors import NotFound
from engine.store.records import Identities
from tests.api.helpers import Api

pytestmark = pytest.mark.db

ROUTES = ["/v1/track", "/v1/identify", "/v1/chats", "/v1/customers/c-nobody/tags"]
JSON = {"Content-Type": "application/json"}


async def post(api: Api, path: str, body: bytes, headers: dict[str, str] = JSON) -> Any:
    response = await api.admin.post(path, content=body, headers=headers)
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response


@pytest.mark.parametrize("path", ROUTES)
async def test_an_empty_body_is_required(api: Api, path: str) -> None:
    response = await post(api, path, b"")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "body", "message": "is required"}]


@pytest.mark.parametrize("path", ROUTES)
async def test_a_body_that_is_not_json(api: Api, path: str) -> None:
    response = await post(api, path, b"customer=1")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("the body is not valid JSON")


@pytest.mark.parametrize("path", ROUTES)
async def test_a_body_sent_as_another_media_type(api: Api, path: str) -> None:
    response = await post(api, path, b"{}", {"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


@pytest.mark.parametrize("path", ROUTES)
async def test_a_list_of_null_is_not_an_object(api: Api, path: str) -> None:
    response = await post(api, path, b"[null]")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


@pytest.mark.parametrize("path", ROUTES)
async def test_invalid_utf8_is_named(api: Api, path: str) -> None:
    response = await post(api, path, b'{"event": "\xff"}')
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["detail"]


@pytest.mark.parametrize("path", ROUTES)
async def test_json_nested_deeper_than_the_parser_goes(api: Api, path: str) -> None:
    response = await post(api, path, b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code == 400
    assert "too deeply" in response.json()["detail"]


@pytest.mark.parametrize("path", ROUTES)
async def test_a_number_of_thousands_of_digits(api: Api, path: str) -> None:
    response = await post(api, path, b'{"n": ' + b"9" * 5000 + b"}")
    assert response.status_code == 400
    assert "too many digits" in response.json()["detail"]


def _event(properties: Any) -> dict[str, Any]:
    return {
        "customer": {"phone": "13800000001"},
        "event": "form.submitted",
        "message_id": "m-1",
        "properties": properties,
    }


def _bodies(value: Any) -> dict[str, tuple[dict[str, Any], str]]:
    """A free-form JSON value placed where each route takes one, and its field path."""
    message = {
        "kind": "wecom",
        "msgid": "x",
        "external_userid": "wm1",
        "staff_userid": "s",
        "sender": "customer",
        "text": "hi",
    }
    return {
        "/v1/track": (_event({"v": value}), "properties"),
        "/v1/identify": (
            {"customer": {"phone": "13800000001"}, "attributes": {"v": value}},
            "attributes",
        ),
        # A chat message has no free-form object: its text stands in, as a number.
        "/v1/chats": ({"messages": [{**message, "text": value}]}, "messages.0.text"),
        "/v1/customers/c-nobody/tags": ({"add": ["x"], "context": {"v": value}}, "context"),
    }


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("number", ["1e400", "-1e400", "NaN", "Infinity", "1" + "0" * 30])
async def test_numbers_out_of_range_are_refused(api: Api, path: str, number: str) -> None:
    body, field = _bodies("NUMBER")[path]
    raw = json.dumps(body).replace('"NUMBER"', number).encode()
    response = await post(api, path, raw)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize("path", sorted(set(ROUTES) - {"/v1/chats"}))
async def test_objects_nested_too_deep_are_refused(api: Api, path: str) -> None:
    deep: Any = 1
    for _ in range(20):
        deep = {"a": deep}
    body, field = _bodies(deep)[path]
    response = await api.admin.post(path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert error["field"] == field
    assert "nests deeper than 8 levels" in error["message"]
    assert error["message"].startswith("v.a.a")  # where, inside the object


async def test_a_refused_request_writes_nothing(api: Api) -> None:
    for path in ROUTES:
        body, _ = _bodies("NUMBER")[path]
        await post(api, path, json.dumps(body).replace('"NUMBER"', "1e400").encode())
    with pytest.raises(NotFound):
        api.store.resolve(Identities(phone="13800000001"), create=False, at=datetime.now(UTC))
