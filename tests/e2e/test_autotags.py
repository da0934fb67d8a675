"""Keyword auto-tags and attribution end to end: real Temporal dev server, worker, the
API over HTTP. The example workspace's tagging.yaml is deployed with a journey on one of
its tags; a customer's WeChat message and a call transcript tag and start it; a follow
through a carepath scene is the first touch, kept when another code is scanned."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_callbacks_wechat import event, signed, xml
from tests.e2e.conftest import EXAMPLES, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.db]

JOURNEY = """\
id: orthok_interest
trigger: {tag_added: 角膜塑形镜意向}
steps:
  - id: note
    update:
      set: {orthok_said: "{{ context.matched }}", orthok_heard_on: "{{ context.channel }}"}
  - id: done
    exit: noted
"""


@pytest.fixture(scope="module")
async def deployed(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("autotags")
    (root / "journeys").mkdir()
    (root / "journeys" / "orthok_interest.yaml").write_text(JOURNEY, encoding="utf-8")
    shutil.copy(EXAMPLES / "tagging.yaml", root / "tagging.yaml")
    response = await stack.http.post(
        "/v1/journeys/deploy", json={"path": str(root)}, headers=stack.headers()
    )
    assert response.status_code == 200, response.text
    return root


async def wechat(stack: Stack, body: str) -> None:
    response = await stack.http.post(
        "/callbacks/wechat",
        params=signed(),
        content=body.encode(),
        headers={"Content-Type": "text/xml"},
    )
    assert (response.status_code, response.text) == (200, "success")


async def customer(stack: Stack, customer_id: str) -> dict[str, Any]:
    response = await stack.http.get(f"/v1/customers/{customer_id}", headers=stack.headers())
    assert response.status_code == 200, response.text
    return dict(response.json())


async def customer_by_openid(stack: Stack, openid: str) -> dict[str, Any]:
    event_body = {"customer": {"wechat_openid": openid}}
    found = await stack.http.post("/v1/identify", json=event_body, headers=stack.headers("ingest"))
    return await customer(stack, found.json()["customer_id"])


async def test_a_wechat_message_tags_and_starts_the_journey(stack: Stack, deployed: Path) -> None:
    openid = f"o-e2e-{uuid.uuid4().hex[:8]}"
    await wechat(
        stack, xml(openid, "text", Content="想给孩子配OK镜，多少钱？", MsgId=int(time.time()))
    )
    found = await customer_by_openid(stack, openid)
    tags = {t["tag"]: t["source"] for t in found["tags"]}
    assert tags == {
        "角膜塑形镜意向": "auto:keyword:orthok:OK镜",
        "询价": "auto:keyword:price:多少钱",
    }
    view = await stack.settle(f"journey:orthok_interest:customer:{found['id']}")
    assert (view["status"], view["exit_reason"]) == ("completed", "noted")
    attributes = (await customer(stack, found["id"]))["attributes"]
    assert (attributes["orthok_said"], attributes["orthok_heard_on"]) == ("OK镜", "wechat")


async def test_a_call_transcript_tags_from_the_customers_words(
    stack: Stack, deployed: Path
) -> None:
    call = {
        "kind": "call",
        "call_id": uuid.uuid4().hex,
        "customer": {"phone": f"+86139{uuid.uuid4().int % 10**8:08d}"},
        "segments": [
            {"speaker": "staff", "text": "您好，请问对我们的服务有投诉吗？"},
            {"speaker": "customer", "text": "没有，想问问角膜塑形的事"},
        ],
    }
    response = await stack.http.post(
        "/v1/chats", json={"messages": [call]}, headers=stack.headers("ingest")
    )
    assert response.status_code == 202, response.text
    (accepted,) = response.json()["accepted"]
    assert [t["tag"] for t in accepted["tags_added"]] == ["角膜塑形镜意向"]  # not 投诉风险
    view = await stack.settle(f"journey:orthok_interest:customer:{accepted['customer_id']}")
    assert view["status"] == "completed"
    attributes = (await customer(stack, accepted["customer_id"]))["attributes"]
    assert (attributes["orthok_said"], attributes["orthok_heard_on"]) == ("角膜塑形", "call")


async def test_a_follow_through_a_carepath_scene_is_the_first_touch_once(
    stack: Stack, deployed: Path
) -> None:
    openid = f"o-e2e-{uuid.uuid4().hex[:8]}"
    scene = "ch=school_event;ac=summer2026;cl=sz-01"
    await wechat(stack, event(openid, "subscribe", EventKey=f"qrscene_{scene}"))
    first = (await customer_by_openid(stack, openid))["source"]
    assert {k: first[k] for k in ("channel", "activity", "clinic", "scene")} == {
        "channel": "school_event",
        "activity": "summer2026",
        "clinic": "sz-01",
        "scene": scene,
    }
    later = event(openid, "SCAN", int(time.time()) + 2, EventKey="ch=poster;cl=bj-02", Ticket="t")
    await wechat(stack, later)
    assert (await customer_by_openid(stack, openid))["source"] == first
    report = await stack.http.get(
        "/v1/reports/sources", params={"by": ["activity"]}, headers=stack.headers()
    )
    rows = {r["activity"]: r for r in report.json()["rows"]}
    assert rows["summer2026"]["customers"] >= 1 and rows["summer2026"]["touches"] >= 2
