"""Keyword auto-tags: customers' WeChat messages, WeCom chat records and call transcripts
add the tags of the deployed tagging.yaml, recorded as automatic with the matched text,
and start the tag_added journeys; staff lines and repeated messages tag nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from engine.store.records import Identities
from tests.api.helpers import Api, deploy
from tests.api.test_callbacks_wechat import post as post_wechat
from tests.api.test_callbacks_wechat import xml

pytestmark = pytest.mark.db

TAGGING = """\
rules:
  - id: myopia
    tag: 近视关注
    keywords: [近视, 看不清黑板]
    patterns: ["度数.{0,4}(涨|加深)"]
    exclude: [不近视]
  - id: complaint
    tag: 投诉风险
    keywords: [投诉]
"""
# The tag starts it; it writes down what was said, so the test sees the context arrive.
JOURNEY = """\
id: myopia_care
trigger: {tag_added: 近视关注}
steps:
  - id: note
    update:
      set: {myopia_said: "{{ context.matched }}", myopia_rule: "{{ context.rule }}"}
  - id: done
    exit: noted
"""


@pytest.fixture
async def tagging(api: Api, tmp_path: Path) -> Path:
    """A deployed workspace with tagging.yaml and a journey on its tag."""
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "myopia_care.yaml").write_text(JOURNEY, encoding="utf-8")
    (tmp_path / "tagging.yaml").write_text(TAGGING, encoding="utf-8")
    await deploy(api, tmp_path)
    return tmp_path


async def profile(api: Api, customer_id: str) -> dict[str, Any]:
    response = await api.admin.get(f"/v1/customers/{customer_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def tags_of(customer: dict[str, Any]) -> dict[str, str]:
    return {t["tag"]: t["source"] for t in customer["tags"]}


async def journey_ran(api: Api, customer_id: str) -> dict[str, Any]:
    """The myopia_care enrollment ended; the customer's attributes it wrote."""
    (enrollment,) = api.store.list_enrollments(customer_id=customer_id, journey_id="myopia_care")
    assert (await api.result(enrollment.id)).status == "completed"
    return dict((await profile(api, customer_id))["attributes"])


def wecom(msgid: str, text: str, sender: str = "customer", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "wecom",
        "msgid": msgid,
        "external_userid": extra.pop("external_userid", "wmCHAT-1"),
        "staff_userid": "zhangsan",
        "sender": sender,
        "text": text,
        **extra,
    }


async def test_a_wechat_message_with_a_keyword_tags_and_starts_the_journey(
    api: Api, tagging: Path
) -> None:
    openid = "o-tagged-writer"
    body = xml(openid, "text", Content="孩子最近上课看不清黑板，怎么办", MsgId=9001)
    assert (await post_wechat(api.anonymous, body)).text == "success"
    assert (await post_wechat(api.anonymous, body)).text == "success"  # WeChat retried it
    customer_id = api.store.resolve(
        Identities(wechat_openid=openid), create=False, at=_now()
    ).customer_id
    customer = await profile(api, customer_id)
    assert tags_of(customer) == {"近视关注": "auto:keyword:myopia:看不清黑板"}
    attributes = await journey_ran(api, customer_id)
    assert (attributes["myopia_said"], attributes["myopia_rule"]) == ("看不清黑板", "myopia")
    assert len(api.store.list_enrollments(customer_id=customer_id)) == 1  # not twice

    # An exclusion: "不近视" is not a keyword match, and an opt-out reply is not read.
    quiet = "o-quiet-writer"
    await post_wechat(api.anonymous, xml(quiet, "text", Content="医生说孩子不近视", MsgId=9002))
    await post_wechat(api.anonymous, xml(quiet, "text", Content="退订", MsgId=9003))
    quiet_id = api.store.resolve(Identities(wechat_openid=quiet), create=False, at=_now())
    assert tags_of(await profile(api, quiet_id.customer_id)) == {}


async def test_wecom_chat_records_tag_from_customer_lines_once(api: Api, tagging: Path) -> None:
    batch = {
        "messages": [
            wecom("m-1", "您家孩子是不是近视了？想投诉可以找我", sender="staff"),
            wecom("m-2", "这学期度数又涨了，挺着急的"),
        ]
    }
    response = await api.ingest.post("/v1/chats", json=batch)
    assert response.status_code == 202, response.text
    staff_line, customer_line = response.json()["accepted"]
    assert staff_line["tags_added"] == []  # staff words never tag the customer
    assert customer_line["tags_added"] == [
        {"tag": "近视关注", "rule": "myopia", "matched": "度数又涨"}
    ]
    customer_id = customer_line["customer_id"]
    assert staff_line["customer_id"] == customer_id
    assert response.json()["enrolled"] == ["myopia_care:started"]
    assert tags_of(await profile(api, customer_id)) == {"近视关注": "auto:keyword:myopia:度数又涨"}
    assert (await journey_ran(api, customer_id))["myopia_said"] == "度数又涨"

    events = (await api.admin.get(f"/v1/customers/{customer_id}/events")).json()
    stored = {e["properties"]["msgid"]: e for e in events if e["name"] == "chat.message"}
    assert stored["m-1"]["properties"]["sender"] == "staff"
    assert "keywords" not in stored["m-1"]["properties"]
    assert stored["m-2"]["properties"]["excerpt"] == "这学期度数又涨了，挺着急的"
    assert stored["m-2"]["properties"]["keywords"] == [
        {"tag": "近视关注", "rule": "myopia", "matched": "度数又涨"}
    ]

    # The same record again (a retried upload), and the customer's later complaint.
    again = await api.ingest.post(
        "/v1/chats", json={"messages": [wecom("m-2", "这学期度数又涨了，挺着急的")]}
    )
    assert again.json()["accepted"][0] == {**customer_line, "duplicate": True, "tags_added": []}
    await api.admin.post(f"/v1/customers/{customer_id}/tags", json={"remove": ["近视关注"]})
    repeat = await api.ingest.post("/v1/chats", json={"messages": [wecom("m-2", "度数涨了")]})
    assert repeat.json()["accepted"][0]["tags_added"] == []  # a repeated msgid tags once
    assert tags_of(await profile(api, customer_id)) == {}


async def test_a_call_transcript_tags_from_the_customers_turns(api: Api, tagging: Path) -> None:
    call = {
        "kind": "call",
        "call_id": f"call-{uuid.uuid4().hex[:6]}",
        "customer": {"phone": "13800000123"},
        "staff_userid": "lisi",
        "segments": [
            {"speaker": "staff", "text": "您好，这里是眼科回访，您要投诉吗？", "start_seconds": 0},
            {"speaker": "customer", "text": "没有，就是孩子近视三百度了", "start_seconds": 4.5},
        ],
    }
    response = await api.ingest.post("/v1/chats", json={"messages": [call]})
    assert response.status_code == 202, response.text
    (accepted,) = response.json()["accepted"]
    assert accepted["message_id"] == f"call:{call['call_id']}"
    assert [t["tag"] for t in accepted["tags_added"]] == ["近视关注"]
    customer_id = accepted["customer_id"]
    assert tags_of(await profile(api, customer_id)) == {"近视关注": "auto:keyword:myopia:近视"}
    assert (await journey_ran(api, customer_id))["myopia_said"] == "近视"
    events = (await api.admin.get(f"/v1/customers/{customer_id}/events")).json()
    (transcript,) = [e for e in events if e["name"] == "call.transcript"]
    assert transcript["properties"]["excerpt"] == "没有，就是孩子近视三百度了"  # no staff words
    assert transcript["properties"]["segments"] == 2


async def test_without_a_tagging_file_nothing_is_tagged(api: Api, tmp_path: Path) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "myopia_care.yaml").write_text(JOURNEY, encoding="utf-8")
    await deploy(api, tmp_path)
    response = await api.ingest.post("/v1/chats", json={"messages": [wecom("m-9", "近视了")]})
    assert response.json()["accepted"][0]["tags_added"] == []


async def test_bad_chat_input_is_refused_readably(api: Api) -> None:
    both = {
        "kind": "call",
        "call_id": "c-1",
        "customer": {"phone": "13800000124"},
        "text": "近视",
        "segments": [{"speaker": "customer", "text": "近视"}],
    }
    nobody = {"kind": "wecom", "msgid": "m", "staff_userid": "z", "sender": "customer", "text": "x"}
    bad_sender = wecom("m-3", "hi", sender="doctor")
    for message, field, words in (
        (both, "messages.0", "either text"),
        (nobody, "messages.0", "external_userid"),
        (bad_sender, "messages.0.sender", "customer"),
    ):
        response = await api.ingest.post("/v1/chats", json={"messages": [message]})
        assert response.status_code == 422, response.text
        (error,) = response.json()["errors"]
        assert error["field"] == field and words in error["message"], error
    empty = await api.ingest.post("/v1/chats", json={"messages": []})
    assert empty.status_code == 422
    assert (
        await api.staff.post("/v1/chats", json={"messages": [wecom("m", "x")]})
    ).status_code == 403


def _now() -> datetime:
    return datetime.now(UTC)
