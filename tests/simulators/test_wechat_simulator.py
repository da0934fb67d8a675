"""The WeChat simulator speaks the platform's wire format to the unmodified wechatpy."""

from __future__ import annotations

import urllib.parse

import pytest
import requests
from wechatpy import WeChatClient, parse_message
from wechatpy.exceptions import WeChatClientException
from wechatpy.utils import check_signature

from activities.channels.wechat.client import OfficialAccountClient
from simulators import ProviderSimulators
from tests.simulators.receiver import Receiver

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


def client(sims: ProviderSimulators, secret: str | None = None) -> OfficialAccountClient:
    settings = sims.channel_settings(timeout_seconds=2).wechat
    if secret is not None:
        settings = settings.model_copy(update={"app_secret": secret})
    return OfficialAccountClient(settings, timeout=2)


def template(msg_id: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {
        "touser": OPENID,
        "template_id": "TM00015",
        "data": {"thing1": {"value": "角膜塑形镜复查"}},
    }
    if msg_id:
        body["client_msg_id"] = msg_id
    return body


def test_token_endpoints_issue_tokens_and_refuse_a_wrong_secret(sims: ProviderSimulators) -> None:
    base = sims.wechat.base_url + "cgi-bin/"
    params = {"grant_type": "client_credential", "appid": sims.wechat.app_id}
    good = requests.get(base + "token", params=params | {"secret": "dev-app-secret"}, timeout=2)
    assert good.json()["expires_in"] == 7200 and good.json()["access_token"]
    bad = requests.get(base + "token", params=params | {"secret": "nope"}, timeout=2).json()
    assert bad["errcode"] == 40001

    with pytest.raises(WeChatClientException) as raised:
        client(sims, secret="nope").fetch_access_token()
    assert raised.value.errcode == 40125
    assert raised.value.errmsg.startswith("invalid appsecret")


def test_stable_token_returns_the_same_token_until_it_is_revoked(sims: ProviderSimulators) -> None:
    first = client(sims).fetch_access_token()["access_token"]
    assert client(sims).fetch_access_token()["access_token"] == first
    sims.wechat.revoke_tokens()
    assert client(sims).fetch_access_token()["access_token"] != first


def test_bad_and_expired_tokens_get_40001_and_42001(sims: ProviderSimulators) -> None:
    plain = WeChatClient("wx", "s", access_token="forged", auto_retry=False)
    plain.API_BASE_URL = sims.wechat.base_url + "cgi-bin/"
    with pytest.raises(WeChatClientException) as raised:
        plain.message.send_text(OPENID, "hi")
    assert raised.value.errcode == 40001

    c = client(sims)
    c.fetch_access_token()
    sims.wechat.expire_tokens()
    with pytest.raises(WeChatClientException) as raised:
        c.message.send_text(OPENID, "hi")
    assert raised.value.errcode == 42001
    assert sims.wechat.messages == []


def test_repeated_client_msg_id_keeps_the_first_message(sims: ProviderSimulators) -> None:
    c = client(sims)
    first = c.post("message/template/send", data=template("k1"))
    again = c.post("message/template/send", data=template("k1"))
    other = c.post("message/template/send", data=template("k2"))
    assert first["msgid"] == again["msgid"] != other["msgid"]
    assert [m.idempotency for m in sims.wechat.messages] == ["k1", "k2"]


def test_answers_come_per_call_then_per_recipient_then_default(sims: ProviderSimulators) -> None:
    sims.wechat.configure(
        default=45009, per_recipient={OPENID: 43004}, per_call=["ok", {"result": 45011}]
    )
    c = client(sims)
    codes = []
    for _ in range(3):
        try:
            codes.append(c.message.send_text(OPENID, "hi")["errcode"])
        except WeChatClientException as exc:
            codes.append(exc.errcode)
            assert exc.errmsg.split(" hint:")[0] in {
                "api minute-quota reach limit  mustslower  retry next minute",
                "require subscribe",
            }
    with pytest.raises(WeChatClientException) as raised:
        c.message.send_text("o-someone-else-0000000000000", "hi")
    assert codes == [0, 45011, 43004]
    assert raised.value.errcode == 45009


def test_receipts_are_planned_per_message(sims: ProviderSimulators) -> None:
    sims.wechat.configure(per_call=[{"receipt": "failed:user block", "after": 30}])
    c = client(sims)
    blocked = c.post("message/template/send", data=template())["msgid"]
    fine = c.message.send_subscribe_message(OPENID, "SUB_1", {"thing1": {"value": "x"}})["msgid"]
    c.message.send_text(OPENID, "hi")
    assert sims.wechat.receipt_for(str(blocked)) == ("failed:user block", 30.0)
    assert sims.wechat.receipt_for(str(fine)) == ("success", 5.0)
    assert sims.wechat.messages[-1].receipt is None  # customer-service: no receipt


def test_template_receipt_is_pushed_as_a_signed_event(
    sims: ProviderSimulators, receiver: Receiver
) -> None:
    sims.wechat.configure(
        callback_url=receiver.url, default={"receipt": "failed:user block", "after": 0.05}
    )
    msgid = client(sims).post("message/template/send", data=template())["msgid"]

    push = receiver.next()
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(push.path).query))
    check_signature("dev-callback-token", query["signature"], query["timestamp"], query["nonce"])
    event = parse_message(push.body.decode())
    assert event.event == "templatesendjobfinish"
    assert (event.id, event.status, event.source) == (msgid, "failed:user block", OPENID)


def test_subscribe_receipt_is_pushed_as_subscribe_msg_sent_event(
    sims: ProviderSimulators, receiver: Receiver
) -> None:
    sims.wechat.configure(callback_url=receiver.url, default={"after": 0.05})
    answer = client(sims).message.send_subscribe_message(OPENID, "SUB_1", {"a": {"value": "b"}})
    body = receiver.next().body.decode()
    assert "<Event><![CDATA[subscribe_msg_sent_event]]></Event>" in body
    assert f"<MsgID>{answer['msgid']}</MsgID>" in body
    assert "<ErrorStatus><![CDATA[success]]></ErrorStatus>" in body


def test_answers_are_checked_against_the_provider(sims: ProviderSimulators) -> None:
    sims.wechat.configure(default="43004")  # as YAML may spell it
    with pytest.raises(WeChatClientException) as raised:
        client(sims).message.send_text(OPENID, "hi")
    assert raised.value.errcode == 43004
    with pytest.raises(ValueError, match="errcode"):
        sims.wechat.configure(default="FailedOperation.PhoneNumberInBlacklist")
    with pytest.raises(ValueError, match="Code string"):
        sims.sms.configure(per_call=[43004])
    with pytest.raises(ValueError, match="unknown answer fields"):
        sims.wecom.configure(default={"result": 0, "delay": 3})
