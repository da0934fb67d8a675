"""Touches and the first touch: QR scans and follows through carepath's codes, WeCom
contacts through contact-me codes and tracked events with UTM fields are each a touch;
the first one is the customer's first touch, set once with the code's attribution;
``source`` rules and the source report read them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from engine.settings import Settings
from engine.store.records import Identities
from tests.api import test_callbacks_wecom as wecom_cb
from tests.api.helpers import Api, deploy
from tests.api.test_callbacks_wechat import post as post_wechat

pytestmark = pytest.mark.db

# Only customers brought by the summer screening activity get the welcome.
SUMMER_WELCOME = """\
id: summer_welcome
trigger: {event: wechat.subscribed}
entry: {source: {activity: summer2026}}
steps:
  - id: mark
    tag: {add: 暑期筛查}
"""
# Booking within a week after following is the conversion the report counts.
FOLLOW_TO_BOOKING = """\
id: follow_to_booking
trigger: {event: wechat.subscribed}
goal: {event: appointment.booked, within: 7d}
steps:
  - id: give_time
    wait: {duration: 7d}
"""


@pytest.fixture
async def admin(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """Admin client of an app whose platform calls reach the simulators, with WeCom's
    callback key set."""
    channels = api.sims.channel_settings(timeout_seconds=5).model_copy(
        update={
            "wecom": wecom_cb.SETTINGS.channels.wecom.model_copy(
                update={"api_base": f"{api.sims.wecom.base_url}cgi-bin/"}
            )
        }
    )
    app = create_app(api.store, api.dispatcher, Settings(channels=channels))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://carepath.test", headers=dict(api.admin.headers)
    ) as client:
        yield client


async def new_code(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/qrcodes", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def customer_of(api: Api, **identities: str) -> str:
    found = api.store.resolve(Identities(**identities), create=False, at=datetime.now(UTC))
    return found.customer_id


async def source_of(api: Api, customer_id: str) -> dict[str, Any]:
    return dict((await api.admin.get(f"/v1/customers/{customer_id}")).json()["source"])


async def test_a_scan_sets_the_first_touch_once_and_every_touch_is_kept(
    api: Api, admin: httpx.AsyncClient
) -> None:
    summer = await new_code(
        admin, kind="wechat", channel="school_event", activity="summer2026", clinic="sz-01"
    )
    poster = await new_code(admin, kind="wechat", channel="poster", clinic="bj-02", permanent=True)
    openid = "o-summer-parent"
    follow = api.sims.wechat.scan_xml(openid, summer["ticket"], follows=False)
    assert (await post_wechat(api.anonymous, follow)).text == "success"
    customer_id = customer_of(api, wechat_openid=openid)
    first = await source_of(api, customer_id)
    assert first == {
        "channel": "school_event",
        "activity": "summer2026",
        "clinic": "sz-01",
        "scene": "ch=school_event;ac=summer2026;cl=sz-01",
        "qrcode": summer["id"],
        "at": first["at"],
    }

    # Later the same parent scans a poster's code: a touch, the first touch stays.
    scan = api.sims.wechat.scan_xml(openid, poster["ticket"], follows=True)
    scan = scan.replace(f"<CreateTime>{int(time.time())}", f"<CreateTime>{int(time.time()) + 3}")
    assert (await post_wechat(api.anonymous, scan)).text == "success"
    assert await source_of(api, customer_id) == first
    touches = api.store.list_touches(customer_id)
    assert [(t.kind, t.code_id, t.fields["channel"]) for t in touches] == [
        ("qr_scan", poster["id"], "poster"),
        ("follow", summer["id"], "school_event"),
    ]
    listed = (await api.admin.get(f"/v1/customers/{customer_id}/touches")).json()
    assert [(t["kind"], t["qrcode"], t["fields"]["clinic"]) for t in listed] == [
        ("qr_scan", poster["id"], "bj-02"),
        ("follow", summer["id"], "sz-01"),
    ]
    assert (await api.staff.get("/v1/customers/nobody/touches")).status_code == 404
    counts = {c["id"]: c for c in (await admin.get("/v1/qrcodes")).json()}
    assert (counts[summer["id"]]["follows"], counts[summer["id"]]["first_touches"]) == (1, 1)
    assert (counts[poster["id"]]["scans"], counts[poster["id"]]["first_touches"]) == (1, 0)


async def test_a_source_rule_matches_on_the_codes_fields(
    api: Api, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "summer_welcome.yaml").write_text(SUMMER_WELCOME, encoding="utf-8")
    await deploy(api, tmp_path)
    summer = await new_code(admin, kind="wechat", channel="school_event", activity="summer2026")
    poster = await new_code(admin, kind="wechat", channel="poster")
    for openid, code in (("o-from-summer", summer), ("o-from-poster", poster)):
        follow = api.sims.wechat.scan_xml(openid, code["ticket"], follows=False)
        assert (await post_wechat(api.anonymous, follow)).text == "success"
    summer_id = customer_of(api, wechat_openid="o-from-summer")
    (enrollment,) = api.store.list_enrollments(customer_id=summer_id)
    assert (await api.result(enrollment.id)).status == "completed"
    assert "暑期筛查" in api.store.get_customer(summer_id).tags
    # The poster's follower does not meet the entry rule: never enrolled.
    assert (
        api.store.list_enrollments(customer_id=customer_of(api, wechat_openid="o-from-poster"))
        == []
    )


async def test_a_contact_me_code_attributes_the_contact(api: Api, admin: httpx.AsyncClient) -> None:
    code = await new_code(
        admin, kind="wecom_contact_me", staff=["zhangsan"], channel="desk", clinic="sz-01"
    )
    body = api.sims.wecom.contact_added_xml(code["config_id"], "wmTOUCH-1")
    assert (await wecom_cb.post(admin, body)).text == "success"
    customer_id = customer_of(api, wecom_external_userid="wmTOUCH-1")
    source = await source_of(api, customer_id)
    assert {k: source[k] for k in ("channel", "clinic", "state", "staff", "qrcode")} == {
        "channel": "desk",
        "clinic": "sz-01",
        "state": "ch=desk;cl=sz-01",
        "staff": "zhangsan",
        "qrcode": code["id"],
    }
    (touch,) = api.store.list_touches(customer_id)
    assert (touch.kind, touch.code_id) == ("contact_add", code["id"])


async def test_utm_fields_on_tracked_events_are_touches(api: Api) -> None:
    phone = "13800000456"

    async def track(message_id: str, **properties: Any) -> httpx.Response:
        body = {
            "customer": {"phone": phone},
            "event": "campaign.page_viewed",
            "properties": properties,
            "message_id": message_id,
        }
        response = await api.ingest.post("/v1/track", json=body)
        assert response.status_code == 202, response.text
        return response

    await track("no-utm", page="/summer")
    customer_id = customer_of(api, phone=phone)
    assert await source_of(api, customer_id) == {}
    assert api.store.list_touches(customer_id) == []

    first = await track(
        "utm-1", utm_source="baidu", utm_medium="cpc", utm_campaign="summer2026", page="/s"
    )
    await track("utm-1", utm_source="baidu", utm_medium="cpc", utm_campaign="summer2026")
    await track("utm-2", utm_source="douyin", utm_campaign="myopia")
    assert first.json()["accepted"][0]["customer_id"] == customer_id
    source = await source_of(api, customer_id)
    assert source == {
        "channel": "web",
        "event": "campaign.page_viewed",
        "utm_source": "baidu",
        "utm_medium": "cpc",
        "utm_campaign": "summer2026",
        "at": source["at"],
    }
    touches = api.store.list_touches(customer_id)
    assert sorted(t.fields["utm_source"] for t in touches) == ["baidu", "douyin"]  # once each


async def test_the_source_report_counts_customers_touches_and_conversions(
    api: Api, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "follow_to_booking.yaml").write_text(FOLLOW_TO_BOOKING, "utf-8")
    await deploy(api, tmp_path)
    summer = await new_code(admin, kind="wechat", channel="school_event", clinic="sz-01")
    poster = await new_code(admin, kind="wechat", channel="poster", clinic="sz-01")
    for i, code in enumerate((summer, summer, poster)):
        openid = f"o-report-{i}"
        follow = api.sims.wechat.scan_xml(openid, code["ticket"], follows=False)
        await post_wechat(api.anonymous, follow)
    rescan = api.sims.wechat.scan_xml("o-report-0", poster["ticket"], follows=True)
    await post_wechat(api.anonymous, rescan)
    booked = {
        "customer": {"wechat_openid": "o-report-1"},
        "event": "appointment.booked",
        "message_id": "booked-1",
    }
    assert (await api.ingest.post("/v1/track", json=booked)).status_code == 202
    converted_id = customer_of(api, wechat_openid="o-report-1")
    (enrollment,) = api.store.list_enrollments(customer_id=converted_id)
    assert (await api.result(enrollment.id)).status == "converted"

    report = (await api.admin.get("/v1/reports/sources")).json()
    assert report["by"] == ["channel"] and report["customers"] == 3
    rows = {r["channel"]: r for r in report["rows"]}
    assert (rows["school_event"]["customers"], rows["school_event"]["touches"]) == (2, 3)
    assert (rows["poster"]["customers"], rows["poster"]["touches"]) == (1, 1)
    assert (rows["school_event"]["converted"], rows["poster"]["converted"]) == (1, 0)

    by_clinic = (await api.admin.get("/v1/reports/sources?by=clinic&by=channel")).json()
    assert [(r["clinic"], r["channel"], r["customers"]) for r in by_clinic["rows"]] == [
        ("sz-01", "school_event", 2),
        ("sz-01", "poster", 1),
    ]
    assert (await api.admin.get("/v1/reports/sources?by=color")).status_code == 422
    assert (await api.staff.get("/v1/reports/sources")).status_code == 403
