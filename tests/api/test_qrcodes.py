"""POST /v1/qrcodes: WeChat QR codes and WeCom contact-me codes created through wechatpy
against the simulators, their limits as readable 422s, the platforms' refusals as 502."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.app import create_app
from api.schemas.qrcodes import MAX_EXPIRE_SECONDS
from engine.settings import Settings
from tests.api.helpers import Api

pytestmark = pytest.mark.db


@pytest.fixture
async def admin(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of an app whose platform calls reach the simulators."""
    settings = Settings(channels=api.sims.channel_settings(timeout_seconds=5))
    app = create_app(api.store, api.dispatcher, settings)
    headers = dict(api.admin.headers)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://carepath.test", headers=headers
    ) as client:
        yield client


def created(api: Api, path: str) -> int:
    return api.sims.wechat.call_count(path) + api.sims.wecom.call_count(path)


async def test_a_temporary_wechat_code_carries_its_attribution_in_the_scene(
    api: Api, admin: httpx.AsyncClient
) -> None:
    body = {
        "kind": "wechat",
        "name": "暑期筛查 深圳南山",
        "channel": "school_event",
        "activity": "summer2026",
        "clinic": "sz-01",
        "expire_seconds": 7 * 86400,
    }
    response = await admin.post("/v1/qrcodes", json=body)
    assert response.status_code == 201, response.text
    code = response.json()
    assert code["scene"] == "ch=school_event;ac=summer2026;cl=sz-01"
    assert code["ticket"] and code["url"].startswith("http://weixin.qq.com/q/")
    assert code["image_url"].startswith("https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=")
    assert code["permanent"] is False
    expires = datetime.fromisoformat(code["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=1)
    # The platform holds the code under its scene: a scan of it comes back with it.
    assert api.sims.wechat.qrcodes[code["ticket"]] == code["scene"]

    permanent = await admin.post(
        "/v1/qrcodes", json={"kind": "wechat", "doctor": "dr-li", "permanent": True}
    )
    assert permanent.status_code == 201, permanent.text
    assert (permanent.json()["scene"], permanent.json()["expires_at"]) == ("dr=dr-li", None)

    listed = (await admin.get("/v1/qrcodes")).json()
    assert [c["id"] for c in listed] == [permanent.json()["id"], code["id"]]
    assert listed[1]["clinic"] == "sz-01" and listed[1]["follows"] == 0


async def test_limits_are_refused_before_the_platform_is_called(
    api: Api, admin: httpx.AsyncClient
) -> None:
    long_id = "x" * 40
    cases = [
        ({"kind": "wechat", "channel": long_id, "activity": long_id}, "64"),
        ({"kind": "wechat", "scene": "s" * 65}, "64 characters"),
        ({"kind": "wechat", "clinic": "sz", "expire_seconds": MAX_EXPIRE_SECONDS + 1}, "2592000"),
        ({"kind": "wechat", "clinic": "sz", "permanent": True, "expire_seconds": 60}, "permanent"),
        ({"kind": "wechat"}, "at least one of channel"),
        ({"kind": "wechat", "clinic": "a;b"}, "pattern"),
        ({"kind": "wecom_contact_me", "staff": ["zhangsan"], "activity": "a" * 28}, "30"),
        ({"kind": "wecom_contact_me", "staff": [], "clinic": "sz-01"}, "at least 1"),
    ]
    for body, words in cases:
        response = await admin.post("/v1/qrcodes", json=body)
        assert response.status_code == 422, (body, response.text)
        assert words in response.text, (body, response.text)
    assert created(api, "qrcode/create") == 0
    assert created(api, "add_contact_way") == 0


async def test_the_platforms_refusals_are_a_readable_502(
    api: Api, admin: httpx.AsyncClient
) -> None:
    api.sims.wechat.configure_endpoint("qrcode/create", per_call=[40013])
    refused = await admin.post("/v1/qrcodes", json={"kind": "wechat", "clinic": "sz-01"})
    assert refused.status_code == 502
    problem = refused.json()
    assert "WeChat refused qrcode/create: 40013 invalid appid" in problem["detail"]
    assert "CAREPATH_CHANNELS__WECHAT__APP_ID" in problem["detail"]
    assert (await admin.get("/v1/qrcodes")).json() == []  # nothing stored

    # An expired token is replaced once and the code made (nothing refused twice).
    api.sims.wechat.expire_tokens()
    again = await admin.post("/v1/qrcodes", json={"kind": "wechat", "clinic": "sz-01"})
    assert again.status_code == 201, again.text

    api.sims.wecom.contact_way_answer = 60011
    wecom = await admin.post(
        "/v1/qrcodes", json={"kind": "wecom_contact_me", "staff": ["zhangsan"], "clinic": "sz"}
    )
    assert wecom.status_code == 502
    assert "WeCom refused add_contact_way: 60011" in wecom.json()["detail"]


async def test_a_contact_me_code_with_its_state(api: Api, admin: httpx.AsyncClient) -> None:
    body = {
        "kind": "wecom_contact_me",
        "name": "南山店前台",
        "staff": ["zhangsan"],
        "channel": "desk",
        "clinic": "sz-01",
    }
    response = await admin.post("/v1/qrcodes", json=body)
    assert response.status_code == 201, response.text
    code = response.json()
    assert code["scene"] == "ch=desk;cl=sz-01"
    assert code["config_id"] and code["image_url"].startswith("https://wwcdn.weixin.qq.com/")
    way = api.sims.wecom.contact_ways[code["config_id"]]
    assert (way["type"], way["scene"], way["state"], way["user"]) == (
        1,
        2,
        "ch=desk;cl=sz-01",
        ["zhangsan"],
    )
    assert way["remark"] == "南山店前台"

    # The same state for other fields would make scans ambiguous: refused.
    clash = await admin.post(
        "/v1/qrcodes",
        json={"kind": "wecom_contact_me", "staff": ["lisi"], "state": "ch=desk;cl=sz-01"},
    )
    assert clash.status_code == 409
    assert code["id"] in clash.json()["detail"]


async def test_codes_need_the_admin_scope(api: Api) -> None:
    for client in (api.ingest, api.staff):
        assert (await client.post("/v1/qrcodes", json={"kind": "wechat"})).status_code == 403
        assert (await client.get("/v1/qrcodes")).status_code == 403
