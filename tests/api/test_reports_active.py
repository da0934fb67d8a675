"""GET /v1/reports/active through the API: events tracked as other systems send them,
a merge, timezones across midnight, the clinic a staff key may see, CSV and bad input."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.api.helpers import Api, identify

pytestmark = pytest.mark.db

RANGE = {"from": "2026-03-01", "to": "2026-03-04"}


async def track(api: Api, phone: str, event: str, at: str, n: int) -> None:
    body = {
        "customer": {"phone": phone},
        "event": event,
        "timestamp": at,
        "message_id": f"m-{phone}-{n}",
    }
    response = await api.ingest.post("/v1/track", json=body)
    assert response.status_code == 202, response.text


async def report(api: Api, client: str = "admin", **params: str) -> Any:
    response = await getattr(api, client).get("/v1/reports/active", params={**RANGE, **params})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [r[name] for r in rows]


async def test_days_are_local_and_a_merged_customer_counts_once(api: Api) -> None:
    await identify(api, customer={"phone": "13800000001"}, attributes={"clinic_id": "sz-01"})
    await identify(api, customer={"wechat_openid": "o-2"}, attributes={"clinic_id": "sz-01"})
    # 2026-03-01 16:00 UTC is midnight of March 2 in Shanghai.
    await track(api, "13800000001", "page.viewed", "2026-03-01T15:59:59+00:00", 1)
    await track(api, "13800000001", "page.viewed", "2026-03-01T16:00:00+00:00", 2)
    await track(api, "13800000001", "carepath.channel_alert", "2026-03-03T01:00:00+00:00", 3)
    response = await api.ingest.post(
        "/v1/track",
        json={
            "customer": {"wechat_openid": "o-2"},
            "event": "content.viewed",
            "timestamp": "2026-03-02T02:00:00+00:00",
            "message_id": "m-o2",
        },
    )
    assert response.status_code == 202
    shanghai = await report(api)
    assert column(shanghai, "dau") == [1, 2, 0]
    assert column(shanghai, "mau") == [1, 2, 2]
    assert column(shanghai, "stickiness") == [1.0, 1.0, 0.0]
    # The two are one person: after the merge, one customer active on March 2.
    await identify(api, customer={"phone": "13800000001", "wechat_openid": "o-2"})
    merged = await report(api)
    assert column(merged, "dau") == [1, 1, 0]
    assert column(merged, "wau") == [1, 1, 1]
    # In UTC both page views fall on March 1; the content view on March 2.
    utc = await report(api, tz="UTC")
    assert column(utc, "dau") == [1, 1, 0]
    assert column(utc, "wau") == [1, 1, 1]


async def test_staff_see_their_clinic_and_csv_has_the_same_numbers(api: Api) -> None:
    await identify(api, customer={"phone": "13800000001"}, attributes={"clinic_id": "sz-01"})
    await identify(api, customer={"phone": "13800000002"}, attributes={"clinic_id": "bj-01"})
    await track(api, "13800000001", "page.viewed", "2026-03-02T02:00:00+00:00", 1)
    await track(api, "13800000002", "page.viewed", "2026-03-02T02:00:00+00:00", 1)
    assert column(await report(api), "dau") == [0, 2, 0]
    assert column(await report(api, "staff"), "dau") == [0, 1, 0]
    # Another clinic's id: the report of nobody, as if that clinic had no customers.
    assert column(await report(api, "staff", clinic_id="bj-01"), "dau") == [0, 0, 0]
    assert column(await report(api, clinic_id="bj-01"), "dau") == [0, 1, 0]
    response = await api.admin.get("/v1/reports/active", params={**RANGE, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [(r["date"], int(r["dau"]), r["stickiness"]) for r in lines] == [
        ("2026-03-01", 0, ""),
        ("2026-03-02", 2, "1.0"),
        ("2026-03-03", 0, "0.0"),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-04", "to": "2026-03-01"}, "to"),
        ({"from": "2026-03-01", "to": "2026-03-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "to"),
        ({"from": "2026-03-01", "to": "2026-03-04", "tz": "Mars/Olympus"}, "tz"),
        ({"from": "2026-13-01", "to": "2026-03-04"}, "from"),
    ],
)
async def test_bad_ranges_are_refused_with_the_field_named(
    api: Api, params: dict[str, str], field: str
) -> None:
    response = await api.admin.get("/v1/reports/active", params=params)
    assert response.status_code == 422, response.text
    assert field in response.text
