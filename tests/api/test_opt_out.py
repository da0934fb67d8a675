"""Opt-out replies: an SMS reply or a WeChat message of an opt-out keyword withdraws
marketing consent on that channel; the next marketing send there is skipped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from engine.settings import ComplianceSettings
from engine.store.records import Identities
from tests.api.helpers import Api, identify
from tests.api.test_callbacks_wechat import post, xml

pytestmark = pytest.mark.db

CONSENTS = [
    {"purpose": "marketing", "channel": channel, "granted": True}
    for channel in ("sms", "wechat_text", "wechat_template", "wechat_subscribe")
]


def marketing(consents: list[dict[str, object]]) -> dict[str | None, bool]:
    """The latest marketing consent per channel."""
    latest: dict[str | None, bool] = {}
    for c in consents:
        if c["purpose"] == "marketing":
            latest[c["channel"]] = bool(c["granted"])  # type: ignore[index]
    return latest


def test_the_default_keywords_and_their_spelling() -> None:
    compliance = ComplianceSettings()
    assert all(compliance.is_opt_out(k) for k in ("T", "td", " R ", "退订", "n"))
    assert not any(compliance.is_opt_out(k) for k in ("", "TDD", "请退订", "好的", "TR"))
    assert ComplianceSettings(opt_out_keywords=["STOP"]).is_opt_out("stop")


async def test_an_sms_reply_of_td_withdraws_sms_marketing_once(api: Api) -> None:
    cid = await identify(api, customer={"phone": "13800001111"}, consents=CONSENTS)
    reply = {
        "mobile": "13800001111",
        "nationcode": "86",
        "text": "TD",
        "sign": "某某眼科",
        "extend": "",
        "time": 1767225600,
    }
    for _ in range(2):  # Tencent retries
        r = await api.anonymous.post(
            "/callbacks/tencent-sms/replies?token=dev-sms-callback-token", content=json.dumps(reply)
        )
        assert r.json() == {"result": 0, "errmsg": "OK"}
    profile = (await api.admin.get(f"/v1/customers/{cid}")).json()
    assert marketing(profile["consents"]) == {
        "sms": False,
        "wechat_text": True,
        "wechat_template": True,
        "wechat_subscribe": True,
    }
    withdrawals = [c for c in profile["consents"] if not c["granted"]]
    assert len(withdrawals) == 1
    events = (await api.admin.get(f"/v1/customers/{cid}/events")).json()
    assert [(e["name"], e["properties"]) for e in events] == [("sms.replied", {"text": "TD"})]


async def test_an_ordinary_reply_changes_no_consent(api: Api) -> None:
    cid = await identify(api, customer={"phone": "13800002222"}, consents=CONSENTS)
    reply = {
        "mobile": "13800002222",
        "nationcode": "86",
        "text": "请问周六营业吗",
        "time": 1767225600,
    }
    await api.anonymous.post(
        "/callbacks/tencent-sms/replies?token=dev-sms-callback-token", content=json.dumps(reply)
    )
    profile = (await api.admin.get(f"/v1/customers/{cid}")).json()
    assert all(marketing(profile["consents"]).values())


async def test_a_wechat_message_of_退订_withdraws_wechat_marketing(api: Api) -> None:
    cid = await identify(
        api, customer={"wechat_openid": "o-optout", "phone": "13800003333"}, consents=CONSENTS
    )
    body = xml("o-optout", "text", Content="退订", MsgId=61234567890)
    assert (await post(api.anonymous, body)).text == "success"
    profile = (await api.admin.get(f"/v1/customers/{cid}")).json()
    assert marketing(profile["consents"]) == {
        "sms": True,
        "wechat_text": False,
        "wechat_template": False,
        "wechat_subscribe": False,
    }
    found = api.store.resolve(Identities(wechat_openid="o-optout"), at=datetime.now(UTC))
    assert found.customer_id == cid
