"""WeChat callbacks: follows, scans, messages and consents change the customer, once.

Bodies are built the way WeChat builds them: XML, the query signed with the callback
token (sha1 of the sorted token, timestamp and nonce), and in safe mode the body
encrypted with the EncodingAESKey and signed as ``msg_signature``.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from wechatpy.crypto import WeChatCrypto

from activities.channels.wechat.events import read_wechat
from api.app import create_app
from engine.errors import NotFound
from engine.settings import Settings
from engine.store.records import Identities
from simulators import MessageRecord
from simulators.wechat import callback_signature
from tests.api.helpers import Api, deploy, identify

pytestmark = pytest.mark.db

SETTINGS = Settings().channels.wechat
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them

WELCOME_JOURNEY = """\
id: qr_welcome
trigger:
  event: wechat.subscribed
  where: {scene: sz-01}
steps:
  - id: hello
    send: {message: hello, channels: [wechat_text]}
  - id: done
    exit: welcomed
"""
HELLO = """\
id: hello
purpose: service
wechat_text:
  text: "欢迎关注某某眼科深圳南山店"
"""


def signed(token: str = SETTINGS.token) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    return {
        "signature": callback_signature(token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
    }


def xml(openid: str, msg_type: str, created: int | None = None, **fields: str | int) -> str:
    """A callback body: the common head, then ``fields`` as elements."""
    body = "".join(
        f"<{k}>{v}</{k}>" if isinstance(v, int) else f"<{k}><![CDATA[{v}]]></{k}>"
        for k, v in fields.items()
    )
    return (
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created or int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>{body}</xml>"
    )


def event(openid: str, name: str, created: int | None = None, **fields: str | int) -> str:
    return xml(openid, "event", created, Event=name, **fields)


def popup(openid: str, created: int, kind: str = "Popup", **answers: str) -> str:
    """A subscribe-message popup (or, with kind="Change", settings) answer per template."""
    items = "".join(
        f"<List><TemplateId><![CDATA[{template}]]></TemplateId>"
        f"<SubscribeStatusString><![CDATA[{answer}]]></SubscribeStatusString>"
        "<PopupScene>2</PopupScene></List>"
        for template, answer in answers.items()
    )
    head = event(openid, f"subscribe_msg_{kind.lower()}_event", created)
    return head.replace(
        "</xml>", f"<SubscribeMsg{kind}Event>{items}</SubscribeMsg{kind}Event></xml>"
    )


async def post(
    client: httpx.AsyncClient, body: str, params: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(
        "/callbacks/wechat",
        params=params or signed(),
        content=body.encode(),
        headers={"Content-Type": "text/xml"},
    )


def customer_of(api: Api, openid: str) -> str:
    found = api.store.resolve(Identities(wechat_openid=openid), create=False, at=datetime.now(UTC))
    return found.customer_id


async def profile(api: Api, openid: str) -> dict[str, Any]:
    response = await api.admin.get(f"/v1/customers/{customer_of(api, openid)}")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def events(api: Api, openid: str) -> list[tuple[str, dict[str, Any]]]:
    response = await api.admin.get(f"/v1/customers/{customer_of(api, openid)}/events")
    return [(e["name"], e["properties"]) for e in reversed(response.json())]


async def test_a_forged_signature_is_refused_and_changes_nothing(api: Api) -> None:
    body = event("o-forged", "subscribe", EventKey="qrscene_sz-01")
    refused = await post(api.anonymous, body, signed(token="not-our-token"))
    assert refused.status_code == 403
    unsigned = await post(api.anonymous, body, {"timestamp": "1", "nonce": "n"})
    assert unsigned.status_code == 403
    with pytest.raises(NotFound):
        customer_of(api, "o-forged")


async def test_a_qr_follow_sets_the_first_touch_once_and_starts_the_welcome(
    api: Api, tmp_path: Path
) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "messages").mkdir()
    (tmp_path / "journeys" / "qr_welcome.yaml").write_text(WELCOME_JOURNEY)
    (tmp_path / "messages" / "hello.yaml").write_text(HELLO)
    await deploy(api, tmp_path)
    openid = "o-qr-follower"

    first = await post(api.anonymous, event(openid, "subscribe", EventKey="qrscene_sz-01"))
    assert (first.status_code, first.text) == (200, "success")
    customer = await profile(api, openid)
    assert customer["follows_wechat"] is True
    assert customer["source"] == {
        "channel": "wechat_qr",
        "scene": "sz-01",
        "at": customer["source"]["at"],
    }
    assert await events(api, openid) == [("wechat.subscribed", {"scene": "sz-01"})]
    # The follow started the welcome journey, whose customer-service message went out
    # inside the minute the follow opened (it needs the follow recorded first).
    (enrollment,) = api.store.list_enrollments(customer_id=customer["id"])
    assert (await api.result(enrollment.id)).status == "completed"
    sent = [m for m in api.sims.wechat.messages if m.recipient == openid]
    assert [m.endpoint for m in sent] == ["message/custom/send"]

    left = await post(api.anonymous, event(openid, "unsubscribe"))
    assert left.text == "success"
    assert (await profile(api, openid))["follows_wechat"] is False

    later = int(time.time()) + 5
    again = event(openid, "subscribe", later, EventKey="qrscene_bj-02")
    assert (await post(api.anonymous, again)).text == "success"
    customer = await profile(api, openid)
    assert customer["follows_wechat"] is True
    assert customer["source"]["scene"] == "sz-01"  # the first touch stays
    assert await events(api, openid) == [
        ("wechat.subscribed", {"scene": "sz-01"}),
        ("wechat.unsubscribed", {}),
        ("wechat.subscribed", {"scene": "bj-02"}),  # every touch is kept as an event
    ]
    assert len(api.store.list_enrollments(customer_id=customer["id"])) == 1  # not sz-01


async def test_a_scan_by_a_follower_is_a_touch_and_a_first_touch_only_once(api: Api) -> None:
    openid = "o-scanner"
    await identify(api, customer={"wechat_openid": openid})
    scanned = await post(api.anonymous, event(openid, "SCAN", EventKey="sz-01", Ticket="t"))
    assert scanned.text == "success"
    customer = await profile(api, openid)
    # A follower from before carepath was connected has no first touch: the scan is it.
    assert customer["source"] == {
        "channel": "wechat_qr",
        "scene": "sz-01",
        "at": customer["source"]["at"],
    }
    assert customer["follows_wechat"] is True
    assert await events(api, openid) == [("wechat.qr_scanned", {"scene": "sz-01"})]

    clicked = await post(api.anonymous, event(openid, "CLICK", EventKey="ONLINE_DOCTOR"))
    assert clicked.text == "success"
    assert (await events(api, openid))[-1] == ("wechat.menu_clicked", {"key": "ONLINE_DOCTOR"})
    later = event(openid, "SCAN", int(time.time()) + 5, EventKey="bj-02", Ticket="t2")
    assert (await post(api.anonymous, later)).text == "success"
    assert (await profile(api, openid))["source"]["scene"] == "sz-01"  # kept


async def test_consent_popups_fill_and_empty_subscribe_balances_once(api: Api) -> None:
    openid = "o-consenting"
    customer_id = await identify(api, customer={"wechat_openid": openid})
    now = datetime.now(UTC)
    api.store.change_subscribe_balance(customer_id, "SUB_B", set_to=3, at=now)
    created = int(time.time())
    answer = popup(openid, created, SUB_A="accept", SUB_B="reject")

    assert (await post(api.anonymous, answer)).text == "success"
    assert (await post(api.anonymous, answer)).text == "success"  # WeChat retried it
    assert api.store.subscribe_balance(customer_id, "SUB_A") == 1  # not 2
    assert api.store.subscribe_balance(customer_id, "SUB_B") == 0

    await post(api.anonymous, popup(openid, created + 1, SUB_A="accept"))
    assert api.store.subscribe_balance(customer_id, "SUB_A") == 2  # one more consent
    await post(api.anonymous, popup(openid, created + 2, kind="Change", SUB_A="reject"))
    assert api.store.subscribe_balance(customer_id, "SUB_A") == 0


async def test_a_message_opens_the_window_and_is_stored_once(api: Api) -> None:
    openid = "o-writer"
    body = xml(openid, "text", Content="请问周六营业吗", MsgId=23873419876452345)
    first = await post(api.anonymous, body)
    second = await post(api.anonymous, body)
    assert first.text == second.text == "success"
    assert await events(api, openid) == [
        ("wechat.message_received", {"type": "text", "content": "请问周六营业吗"})
    ]
    image = xml(openid, "image", PicUrl="http://mmbiz/x.jpg", MediaId="m", MsgId=23873419876452346)
    await post(api.anonymous, image)
    assert (await events(api, openid))[-1] == ("wechat.message_received", {"type": "image"})


async def test_safe_mode_messages_are_decrypted_when_the_key_is_set(api: Api) -> None:
    openid = "o-safe-mode"
    settings = Settings(channels={"wechat": {"aes_key": AES_KEY}})
    safe = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(api.store, api.dispatcher, settings)),
        base_url="http://carepath.test",
    )
    crypto = WeChatCrypto(SETTINGS.token, AES_KEY, SETTINGS.app_id)
    query = signed()
    sealed = crypto.encrypt_message(
        xml(openid, "text", Content="想预约验光", MsgId=1001), query["nonce"], query["timestamp"]
    )
    msg_signature = sealed.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    params = query | {"encrypt_type": "aes", "msg_signature": msg_signature}
    async with safe:
        forged = await post(safe, sealed, params | {"msg_signature": "0" * 40})
        assert forged.status_code == 403
        with pytest.raises(NotFound):
            customer_of(api, openid)
        accepted = await post(safe, sealed, params)
        assert (accepted.status_code, accepted.text) == (200, "success")
    assert await events(api, openid) == [
        ("wechat.message_received", {"type": "text", "content": "想预约验光"})
    ]
    # Without the key the encrypted body cannot be read: our setup is wrong, not WeChat.
    unreadable = await post(api.anonymous, sealed, params)
    assert unreadable.status_code == 503
    assert "CAREPATH_CHANNELS__WECHAT__AES_KEY" in unreadable.text


async def test_a_template_receipt_reaches_the_waiting_enrollment_once(api: Api) -> None:
    await deploy(api, journey="payment_recovery")
    openid = "o-payer"
    customer_id = await identify(
        api,
        customer={"wechat_openid": openid, "phone": "13800000077"},
        attributes={"name": "王五", "clinic_id": "sz-01"},
        consents=[{"purpose": "service", "granted": True}],
    )
    await post(api.anonymous, event(openid, "subscribe"))  # follows: templates may go out
    context = {"appointment_id": "A-9", "package_name": "验光", "appointment_at": "09:30"}
    tagged = await api.admin.post(
        f"/v1/customers/{customer_id}/tags", json={"add": ["预约取消支付"], "context": context}
    )
    assert tagged.json()["enrolled"] == ["payment_recovery:started"]
    enrollment_id = f"journey:payment_recovery:customer:{customer_id}:key:A-9"

    async def accepted() -> Any:
        sent = [m for m in api.sims.wechat.messages if m.recipient == openid]
        # Once its delivery record holds the msgid, the enrollment waits for the receipt.
        return next(
            (m for m in sent if api.store.find_delivery(m.provider_ref, "wechat_template")), None
        )

    record = await api.wait_for("the template message", accepted)
    receipt = api.sims.wechat.event_xml(record)  # the XML the platform posts
    assert (await post(api.anonymous, receipt)).text == "success"
    assert (await post(api.anonymous, receipt)).text == "success"

    async def received() -> Any:
        trace = (await api.admin.get(f"/v1/enrollments/{enrollment_id}")).json()["trace"]
        return [e for e in trace if e["kind"] == "receipt"]

    (entry,) = await api.wait_for("the receipt in the trace", received)
    assert (entry["channel"], entry["outcome"]) == ("wechat_template", "delivered")
    history = await api.env.client.get_workflow_handle(enrollment_id).fetch_history()
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signals.count("receipt") == 1


def test_subscribe_message_receipts_are_read_from_the_platform_xml(api: Api) -> None:
    def sent(status: str) -> MessageRecord:
        return MessageRecord(
            endpoint="message/subscribe/bizsend",
            recipient="o-subscriber",
            content={"template_id": "SUB_0001"},
            provider_ref="2000000123",
            at=time.time(),
            receipt=status,
        )

    now = datetime.now(UTC)
    ok = read_wechat(api.sims.wechat.event_xml(sent("success")), now=now)
    refused = read_wechat(api.sims.wechat.event_xml(sent("user refused")), now=now)
    assert ok is not None and refused is not None
    assert [(r.provider_ref, r.channel, r.delivered) for r in ok.receipts] == [
        ("2000000123", "wechat_subscribe", True)
    ]
    assert [(r.delivered, r.detail) for r in refused.receipts] == [(False, "10001 user refused")]


def signed_at(timestamp: int, token: str = SETTINGS.token) -> dict[str, str]:
    nonce = secrets.token_hex(5)
    signature = callback_signature(token, str(timestamp), nonce)
    return {"signature": signature, "timestamp": str(timestamp), "nonce": nonce}


async def test_a_signature_outside_the_time_window_is_refused(api: Api) -> None:
    body = event("o-stale", "subscribe", EventKey="qrscene_sz-01")
    for skew in (-301, 301, -86400):  # yesterday's captured URL, a clock far ahead
        refused = await post(api.anonymous, body, signed_at(int(time.time()) + skew))
        assert refused.status_code == 403
        assert "CAREPATH_CHANNELS__CALLBACK_WINDOW_SECONDS" in refused.text
    check = signed_at(int(time.time()) - 301) | {"echostr": "hello"}
    assert (await api.anonymous.get("/callbacks/wechat", params=check)).status_code == 403
    with pytest.raises(NotFound):
        customer_of(api, "o-stale")
    assert (await post(api.anonymous, body, signed_at(int(time.time()) - 250))).text == "success"


async def test_a_captured_url_works_once_and_only_with_its_own_body(api: Api) -> None:
    query = signed()
    genuine = xml("o-captured", "text", Content="周六营业吗", MsgId=7001)
    assert (await post(api.anonymous, genuine, query)).text == "success"
    # In plaintext mode the signature covers the query, not the body: the same URL with
    # another body is refused, with the same body it is WeChat's retry (taken once).
    forged = event("o-impostor", "subscribe", EventKey="qrscene_sz-01")
    refused = await post(api.anonymous, forged, query)
    assert refused.status_code == 403 and "nonce" in refused.text
    assert (await post(api.anonymous, forged, query)).status_code == 403
    with pytest.raises(NotFound):
        customer_of(api, "o-impostor")
    assert (await post(api.anonymous, genuine, query)).text == "success"
    assert await events(api, "o-captured") == [
        ("wechat.message_received", {"type": "text", "content": "周六营业吗"})
    ]


async def test_with_an_aes_key_plaintext_callbacks_are_refused(api: Api) -> None:
    settings = Settings(channels={"wechat": {"aes_key": AES_KEY}})
    app = create_app(api.store, api.dispatcher, settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://carepath.test") as safe:
        body = event("o-plain", "subscribe", EventKey="qrscene_sz-01")
        refused = await post(safe, body)  # correctly signed, but not encrypted
        assert refused.status_code == 403
        assert "safe mode" in refused.text
    with pytest.raises(NotFound):
        customer_of(api, "o-plain")
