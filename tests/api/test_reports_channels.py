"""GET /v1/reports/channels through the API: real sends of a journey to the SMS
simulator (a WeChat channel skipped, the SMS waiting for its receipt, then delivered or
failed by Tencent's status report), a merge that moves a send to another clinic,
consent withdrawals on both sides of local midnight, the clinic a staff key may see,
CSV and bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from engine.settings import Settings
from simulators import MessageRecord
from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

NOTICE = {
    "id": "notice",
    "name": "通知",
    "trigger": {"api": True},
    "steps": [
        {
            "id": "notify",
            "send": {
                "message": "notice",
                "channels": ["wechat_template", "sms"],
                "receipt_timeout": "30m",
            },
            "on_failure": "unsent",
        },
        {"id": "sent", "exit": "sent"},
        {"id": "unsent", "exit": "not sent"},
    ],
}
RECEIPTS = f"/callbacks/tencent-sms?token={Settings().channels.sms.callback_token}"


def today() -> dict[str, str]:
    """A range around now (sends happen at the workflow's clock), Shanghai days."""
    day = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return {"from": str(day - dt.timedelta(days=1)), "to": str(day + dt.timedelta(days=2))}


async def report(api: Api, client: str = "admin", **params: str) -> dict[str, Any]:
    response = await getattr(api, client).get("/v1/reports/channels", params=params)
    assert response.status_code == 200, response.text
    return {r["channel"]: r for r in response.json()["rows"]}


def figures(row: dict[str, Any]) -> tuple[int, int, int, int, int]:
    return row["attempted"], row["delivered"], row["failed"], row["fallbacks"], row["receipts"]


async def send_to(api: Api, phone: str, clinic: str) -> tuple[str, MessageRecord]:
    """Enroll a customer with a phone and no WeChat: the template is skipped and the SMS
    waits for its receipt; the enrollment and the SMS."""
    attributes = {"clinic_id": clinic, "name": "张三"}
    customer = await identify(api, customer={"phone": phone}, attributes=attributes)
    enrolled = await api.admin.post(
        "/v1/journeys/notice/enrollments", json={"customer": {"customer_id": customer}}
    )
    assert enrolled.status_code == 201, enrolled.text

    async def sent() -> Any:
        found = [m for m in api.sims.sms.messages if phone in m.recipient]
        return next((m for m in found if api.store.find_delivery(m.provider_ref, "sms")), None)

    return enrolled.json()["enrollment_id"], await api.wait_for("the SMS", sent)


async def receipt(api: Api, record: MessageRecord, delivered: bool) -> None:
    item = api.sims.sms.status_report(record)
    if not delivered:
        item |= {"report_status": "FAIL", "errmsg": "MK:0001"}
    response = await api.anonymous.post(
        RECEIPTS,
        content=json.dumps([item]).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text


async def test_sends_count_when_made_and_receipts_settle_them(api: Api, tmp_path: Path) -> None:
    await deploy(api, workspace(tmp_path / "ws", [NOTICE]))
    sz, sz_sms = await send_to(api, "13800000101", "sz-01")
    bj, bj_sms = await send_to(api, "13900000102", "bj-01")
    # Both SMS wait for their receipts: counted from the deliveries, not settled yet.
    waiting = await report(api, **today())
    assert figures(waiting["sms"]) == (2, 0, 0, 0, 0)
    assert waiting["wechat_template"]["skipped"]["no_identity"] == 2
    assert waiting["wechat_template"]["attempted"] == 0

    await receipt(api, sz_sms, delivered=True)
    await receipt(api, bj_sms, delivered=False)
    assert (await api.result(sz)).status == "completed"
    assert (await api.result(bj)).status == "completed"
    rows = await report(api, **today())
    assert figures(rows["sms"]) == (2, 1, 1, 1, 2)  # the delivered SMS was a fallback
    assert 0 <= rows["sms"]["latency_p50_seconds"] <= rows["sms"]["latency_p90_seconds"] < 60
    # A staff key sees its clinic only; another clinic's id answers nobody's figures.
    mine = await report(api, "staff", **today())
    assert figures(mine["sms"]) == (1, 1, 0, 1, 1)
    assert mine["wechat_template"]["skipped"]["no_identity"] == 1
    assert await report(api, "staff", clinic_id="bj-01", **today()) == {}
    theirs = await report(api, clinic_id="bj-01", **today())
    assert figures(theirs["sms"]) == (1, 0, 1, 0, 1)
    # Half-open: a range that ends before today has none of it.
    day = dt.date.fromisoformat(today()["from"])
    assert await report(api, **{"from": str(day - dt.timedelta(days=3)), "to": str(day)}) == {}

    response = await api.admin.get("/v1/reports/channels", params={**today(), "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = {r["channel"]: r for r in csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")))}
    assert set(lines) == {"sms", "wechat_template"}
    for name, row in rows.items():
        assert lines[name]["attempted"] == str(row["attempted"])
        assert lines[name]["skipped.no_identity"] == str(row["skipped"]["no_identity"])
        p50 = row["latency_p50_seconds"]
        assert lines[name]["latency_p50_seconds"] == ("" if p50 is None else str(p50))


async def test_a_send_of_a_merged_customer_counts_in_the_survivors_clinic(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path / "ws", [NOTICE]))
    older = await identify(
        api, customer={"wechat_openid": "o-older"}, attributes={"clinic_id": "bj-01"}
    )
    enrollment, sms = await send_to(api, "13800000103", "sz-01")
    assert figures((await report(api, "staff", **today()))["sms"]) == (1, 0, 0, 0, 0)
    # The same person: the newer customer merges into the older one, of bj-01. The SMS
    # under the merged id goes with it.
    survivor = await identify(api, customer={"phone": "13800000103", "wechat_openid": "o-older"})
    assert survivor == older
    assert await report(api, "staff", **today()) == {}
    moved = await report(api, clinic_id="bj-01", **today())
    assert figures(moved["sms"]) == (1, 0, 0, 0, 0)
    assert moved["wechat_template"]["skipped"]["no_identity"] == 1

    await receipt(api, sms, delivered=True)
    assert (await api.result(enrollment)).status == "completed"
    settled = await report(api, clinic_id="bj-01", **today())
    assert figures(settled["sms"]) == (1, 1, 0, 1, 1)
    assert await report(api, "staff", **today()) == {}


async def withdraw(
    api: Api, who: dict[str, str], channel: str | None, at: str, clinic: str = "sz-01"
) -> str:
    consent = {"purpose": "marketing", "channel": channel, "granted": False, "at": at}
    return await identify(api, customer=who, attributes={"clinic_id": clinic}, consents=[consent])


def opt_outs(rows: dict[str, Any]) -> dict[str, int]:
    return {name: row["opt_outs"] for name, row in rows.items()}


async def test_opt_outs_are_customers_by_local_day(api: Api) -> None:
    # 2026-03-01 16:00 UTC is midnight of March 2 in Shanghai.
    phone = {"phone": "13800000201"}
    await withdraw(api, phone, "sms", "2026-03-01T15:59:59.999999+00:00")
    await withdraw(api, {"phone": "13800000202"}, "wechat_template", "2026-03-01T16:00:00+00:00")
    await withdraw(api, {"phone": "13800000203"}, None, "2026-03-01T08:00:00+00:00", "bj-01")
    given = {"purpose": "marketing", "channel": "sms", "granted": True}
    await identify(api, customer={"phone": "13800000204"}, consents=[given])
    # The first customer's other identity withdraws too: two customers, until the merge.
    await withdraw(api, {"wechat_openid": "o-201"}, "sms", "2026-03-01T10:00:00+00:00")
    march_1 = {"from": "2026-03-01", "to": "2026-03-02"}
    assert opt_outs(await report(api, **march_1)) == {"sms": 2, "(none)": 1}
    await identify(api, customer={**phone, "wechat_openid": "o-201"})

    assert opt_outs(await report(api, **march_1)) == {"sms": 1, "(none)": 1}
    utc = await report(api, tz="UTC", **march_1)
    assert opt_outs(utc) == {"sms": 1, "wechat_template": 1, "(none)": 1}
    assert opt_outs(await report(api, "staff", **march_1)) == {"sms": 1}
    march_2 = await report(api, **{"from": "2026-03-02", "to": "2026-03-03"})
    assert opt_outs(march_2) == {"wechat_template": 1}
    assert march_2["wechat_template"]["attempted"] == 0
    assert march_2["wechat_template"]["latency_p50_seconds"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-04", "to": "2026-03-01"}, "to"),
        ({"from": "2026-03-01", "to": "2026-03-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "to"),
        ({"from": "2026-03-01", "to": "2026-03-04", "tz": "Mars/Olympus"}, "tz"),
        ({"from": "2026-13-01", "to": "2026-03-04"}, "from"),
        ({"to": "2026-03-04"}, "from"),
        ({"from": "2026-03-01", "to": "2026-03-04", "format": "xml"}, "format"),
    ],
)
async def test_bad_input_is_refused_with_the_field_named(
    api: Api, params: dict[str, str], field: str
) -> None:
    response = await api.admin.get("/v1/reports/channels", params=params)
    assert response.status_code == 422, response.text
    assert field in response.text
