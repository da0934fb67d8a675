"""Tencent Cloud SMS callbacks: status reports reach the waiting enrollment once, and only
when they come with our token and name the number the message went to; replies act for
known customers only; bodies that cannot be read are refused and change nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api.app import create_app
from engine.errors import NotFound
from engine.settings import Settings
from engine.store.records import Identities
from simulators import MessageRecord
from tests.api.helpers import Api, deploy, identify

pytestmark = pytest.mark.db

RECOVERY = {"appointment_id": "A-3", "package_name": "验光", "appointment_at": "09:30"}
TOKEN = Settings().channels.sms.callback_token
RECEIPTS = "/callbacks/tencent-sms"
REPLIES = "/callbacks/tencent-sms/replies"
OK = {"result": 0, "errmsg": "OK"}


async def post(
    client: httpx.AsyncClient, path: str, body: bytes | str, token: str | None = TOKEN
) -> httpx.Response:
    return await client.post(
        path,
        params={"token": token} if token is not None else None,
        content=body.encode() if isinstance(body, str) else body,
        headers={"Content-Type": "application/json"},
    )


def reply(mobile: str, text: str, time: int = 1767225600) -> dict[str, Any]:
    return {"mobile": mobile, "nationcode": "86", "text": text, "sign": "某某眼科", "time": time}


def known(api: Api, phone: str) -> bool:
    try:
        api.store.resolve(Identities(phone=phone), create=False, at=datetime.now(UTC))
    except NotFound:
        return False
    return True


async def waiting_sms(api: Api, number: str) -> tuple[str, MessageRecord]:
    """A payment-recovery enrollment waiting for its SMS's receipt, and the SMS."""
    await deploy(api, journey="payment_recovery")
    # No openid: both WeChat channels are skipped and the SMS waits for its receipt.
    customer_id = await identify(
        api,
        customer={"phone": number},
        attributes={"name": "赵六", "clinic_id": "sz-01"},
        consents=[{"purpose": "service", "granted": True}],
    )
    tagged = await api.admin.post(
        f"/v1/customers/{customer_id}/tags", json={"add": ["预约取消支付"], "context": RECOVERY}
    )
    assert tagged.json()["enrolled"] == ["payment_recovery:started"]

    async def accepted() -> Any:
        sent = [m for m in api.sims.sms.messages if number in m.recipient]
        return next((m for m in sent if api.store.find_delivery(m.provider_ref, "sms")), None)

    record = await api.wait_for("the SMS", accepted)
    return f"journey:payment_recovery:customer:{customer_id}:key:A-3", record


async def receipts_of(api: Api, enrollment_id: str) -> list[tuple[str, str]]:
    trace = (await api.admin.get(f"/v1/enrollments/{enrollment_id}")).json()["trace"]
    return [(e["channel"], e["outcome"]) for e in trace if e["kind"] == "receipt"]


async def signals_of(api: Api, enrollment_id: str) -> list[str]:
    history = await api.env.client.get_workflow_handle(enrollment_id).fetch_history()
    return [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]


async def test_a_repeated_status_report_signals_once(api: Api) -> None:
    enrollment_id, record = await waiting_sms(api, "13800000055")
    report = json.dumps([api.sims.sms.status_report(record)], ensure_ascii=False)
    for _ in range(2):  # Tencent retried it
        response = await post(api.anonymous, RECEIPTS, report)
        assert response.json() == OK

    received = await api.wait_for("the receipt", lambda: receipts_of(api, enrollment_id))
    assert received == [("sms", "delivered")]
    assert (await signals_of(api, enrollment_id)).count("receipt") == 1


async def test_a_forged_or_misaddressed_status_report_changes_nothing(api: Api) -> None:
    enrollment_id, record = await waiting_sms(api, "13800000056")
    failed = api.sims.sms.status_report(record) | {"report_status": "FAIL", "errmsg": "MK:0001"}
    forged = json.dumps([failed])
    # Whoever learns a SerialNo cannot fail the delivery (and start the phone task)...
    for token in (None, "", "guessed-token", TOKEN + "x", "令牌"):
        refused = await post(api.anonymous, RECEIPTS, forged, token=token)
        assert refused.status_code == 403, token
        assert "token" in refused.text
    # ...nor can a report with our token that names another number (a mistaken or
    # replayed report): acknowledged, so Tencent stops retrying, and ignored.
    elsewhere = json.dumps([failed | {"mobile": "13900000000"}])
    assert (await post(api.anonymous, RECEIPTS, elsewhere)).json() == OK
    assert await signals_of(api, enrollment_id) == []

    genuine = json.dumps([api.sims.sms.status_report(record)])
    assert (await post(api.anonymous, RECEIPTS, genuine)).json() == OK
    received = await api.wait_for("the receipt", lambda: receipts_of(api, enrollment_id))
    assert received == [("sms", "delivered")]


async def test_an_opt_out_reply_without_our_token_is_refused(api: Api) -> None:
    consents = [{"purpose": "marketing", "channel": "sms", "granted": True}]
    customer_id = await identify(api, customer={"phone": "13800004444"}, consents=consents)
    body = json.dumps(reply("13800004444", "R"))
    for token in (None, "dev-callback-token"):
        assert (await post(api.anonymous, REPLIES, body, token=token)).status_code == 403
    profile = (await api.admin.get(f"/v1/customers/{customer_id}")).json()
    assert [c["granted"] for c in profile["consents"]] == [True]
    assert (await api.admin.get(f"/v1/customers/{customer_id}/events")).json() == []

    assert (await post(api.anonymous, REPLIES, body)).json() == OK
    profile = (await api.admin.get(f"/v1/customers/{customer_id}")).json()
    assert [c["granted"] for c in profile["consents"]] == [True, False]


async def test_replies_from_unknown_numbers_create_no_one(api: Api) -> None:
    await identify(api, customer={"phone": "13800005555"})
    strangers = [reply(f"139{n:08d}", "你好") for n in range(50)]
    batch = json.dumps([*strangers, reply("13800005555", "好的")], ensure_ascii=False)
    assert (await post(api.anonymous, REPLIES, batch)).json() == OK
    assert not any(known(api, f"+86139{n:08d}") for n in range(50))
    # The known customer's reply is kept.
    customer_id = await identify(api, customer={"phone": "13800005555"})
    events = (await api.admin.get(f"/v1/customers/{customer_id}/events")).json()
    assert [(e["name"], e["properties"]) for e in events] == [("sms.replied", {"text": "好的"})]


REPORT = {"sid": "2640:1", "report_status": "FAIL", "mobile": "13800006666", "nationcode": "86"}
REPLY = reply("13800006666", "R")


def both(body: bytes) -> dict[str, bytes]:
    return {RECEIPTS: body, REPLIES: body}


def items(receipt: dict[str, Any], answer: dict[str, Any]) -> dict[str, bytes]:
    return {RECEIPTS: json.dumps([receipt]).encode(), REPLIES: json.dumps([answer]).encode()}


#: The bodies that were answered 500 with a traceback: each now a 422 naming the field.
MALFORMED: dict[str, tuple[dict[str, bytes], str, str]] = {
    "empty": (both(b""), "body", "not valid JSON"),
    "not JSON": (both(b"mobile=13800006666&text=R"), "body", "not valid JSON"),
    "null item": (both(b"[null]"), "0", "must be an object"),
    "not UTF-8": (both(b'[{"mobile": "13800006666", "text": "\xff\xfe"}]'), "body", "not UTF-8"),
    "too deep": (both(b"[" * 5000 + b"]" * 5000), "body", "recursion limit"),
    "number out of range": (
        {k: v.replace(b'"13800006666"', b"1e999") for k, v in items(REPORT, REPLY).items()},
        "0.mobile",
        "should match pattern",
    ),
    # Reports have no time: their out-of-range value is a serial number past any length.
    "time out of range": (items(REPORT | {"sid": "9" * 500}, REPLY | {"time": 10**20}), "0.", ""),
    "not a list": (both(b'"R"'), "body", "must be a list"),
}


@pytest.mark.parametrize("path", [RECEIPTS, REPLIES])
@pytest.mark.parametrize("case", list(MALFORMED))
async def test_unreadable_bodies_are_refused_by_name_and_change_nothing(
    api: Api, path: str, case: str
) -> None:
    consents = [{"purpose": "marketing", "channel": "sms", "granted": True}]
    customer_id = await identify(api, customer={"phone": "13800006666"}, consents=consents)
    bodies, field, words = MALFORMED[case]
    response = await post(api.anonymous, path, bodies[path])
    assert response.status_code == 422, response.text
    [item] = response.json()["errors"]
    assert item["field"].startswith(field) and words in item["message"], item
    if case == "time out of range":
        expected = {RECEIPTS: ("0.sid", "at most 128"), REPLIES: ("0.time", "less than or")}
        assert item["field"] == expected[path][0] and expected[path][1] in item["message"]
    profile = (await api.admin.get(f"/v1/customers/{customer_id}")).json()
    assert [c["granted"] for c in profile["consents"]] == [True]
    assert (await api.admin.get(f"/v1/customers/{customer_id}/events")).json() == []


async def test_the_source_allow_list_refuses_other_addresses(api: Api) -> None:
    def client(*networks: str) -> httpx.AsyncClient:
        settings = Settings(channels={"sms": {"callback_sources": list(networks)}})
        app = create_app(api.store, api.dispatcher, settings)
        # The ASGI server's client address: 127.0.0.1 under the test transport.
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://carepath.test")

    body = json.dumps(reply("13800007777", "R"))
    await identify(api, customer={"phone": "13800007777"})
    async with client("183.60.0.0/16", "2402:4e00::/32") as elsewhere:
        refused = await post(elsewhere, REPLIES, body)
        assert refused.status_code == 403
        assert "CAREPATH_CHANNELS__SMS__CALLBACK_SOURCES" in refused.text
    async with client("127.0.0.0/8") as allowed:
        assert (await post(allowed, REPLIES, body)).json() == OK
