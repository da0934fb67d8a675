"""GET /v1/reports/acquisition and /v1/reports/kpis over data sent through the API:
first touches from tracked UTM visits, conversions and refunds within the window, cost
rows from /v1/costs; JSON and CSV agree, staff keys see their clinic only, bad requests
are refused with the field named."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.api.helpers import Api, identify

pytestmark = pytest.mark.db

MARCH = {"from": "2026-03-01", "to": "2026-03-08"}  # Asia/Shanghai: Feb 28 16:00Z ..


async def track(api: Api, customer: str, *events: tuple[str, str, dict[str, Any]]) -> None:
    """(event, ISO time, properties) for one customer, through /v1/track."""
    batch = [
        {
            "customer": {"customer_id": customer},
            "event": name,
            "timestamp": at,
            "properties": properties,
            "message_id": f"{customer}-{name}-{at}",
        }
        for name, at, properties in events
    ]
    response = await api.ingest.post("/v1/track", json={"batch": batch})
    assert response.status_code == 202, response.text


async def customer(api: Api, n: int, clinic: str) -> str:
    return await identify(
        api, customer={"phone": f"138000000{n:02d}"}, attributes={"clinic_id": clinic}
    )


async def report(api: Api, name: str, client: str = "admin", **params: Any) -> Any:
    response = await getattr(api, client).get(f"/v1/reports/{name}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def march(api: Api) -> None:
    """Six customers and the cost rows of a week in March."""
    baidu = {"utm_source": "baidu", "utm_campaign": "spring"}
    c1, c2, c3, c4, c5, c6 = [
        await customer(api, n, clinic)
        for n, clinic in enumerate(["sz-01", "sz-01", "bj-01", "sz-01", "sz-01", "sz-01"])
    ]
    await track(
        api,
        c1,
        ("page.viewed", "2026-03-02T02:00:00Z", baidu),
        ("share.sent", "2026-03-03T02:00:00Z", {}),
        ("appointment.paid", "2026-03-05T02:00:00Z", {"amount": 300}),
        ("appointment.refunded", "2026-03-06T02:00:00Z", {"amount": 50}),
        # after the range, within the window: counted for March's cohort
        ("order.paid", "2026-03-20T02:00:00Z", {"amount": 120.5}),
    )
    await track(api, c2, ("page.viewed", "2026-03-03T02:00:00Z", {"utm_source": "baidu"}))
    await track(
        api,
        c3,
        ("page.viewed", "2026-03-04T02:00:00Z", {"utm_source": "dianping"}),
        ("appointment.paid", "2026-05-04T02:00:00Z", {"amount": 200}),  # after 60 days
    )
    # no first touch: the first event is, and it has no utm_source
    await track(api, c4, ("page.viewed", "2026-03-04T02:00:00Z", {}))
    # first touched in February: not new, but active in the range
    await track(
        api,
        c5,
        ("page.viewed", "2026-02-10T02:00:00Z", {"utm_source": "baidu"}),
        ("page.viewed", "2026-03-02T02:00:00Z", {}),
    )
    # 00:30 on March 8 in Shanghai (after the range), 16:30 on March 7 in UTC (in it)
    await track(api, c6, ("page.viewed", "2026-03-07T16:30:00Z", {"utm_source": "baidu"}))
    rows = [
        {"date": "2026-03-01", "amount": "100", "utm_source": "baidu", "clinic_id": "sz-01"},
        {"date": "2026-03-02", "amount": "50", **baidu, "clinic_id": "sz-01"},
        {"date": "2026-03-03", "amount": "30", "utm_source": "dianping", "clinic_id": "bj-01"},
        {"date": "2026-03-03", "amount": "20", "channel": "school_event"},  # total only
        {"date": "2026-03-08", "amount": "999", "utm_source": "baidu"},  # after the range
    ]
    response = await api.admin.post("/v1/costs", json={"rows": rows})
    assert response.status_code == 200, response.text


def acquisition_row(
    source: str, new: int, converted: int, rate: float | None, revenue: str, *rest: Any
) -> dict[str, Any]:
    aov, cost, traffic_cost, per_conversion, roi = rest
    return {
        "utm_source": source,
        "new_customers": new,
        "converted": converted,
        "conversion_rate": rate,
        "revenue": revenue,
        "average_order_value": aov,
        "cost": cost,
        "traffic_cost": traffic_cost,
        "cost_per_conversion": per_conversion,
        "roi": roi,
    }


BAIDU = acquisition_row("baidu", 2, 1, 0.5, "370.50", "185.25", "150.00", "75.00", "150.00", 2.47)
NONE = acquisition_row("(none)", 1, 0, 0.0, "0.00", None, "0.00", "0.00", None, None)
DIANPING = acquisition_row("dianping", 1, 0, 0.0, "0.00", None, "30.00", "30.00", None, 0.0)


async def test_acquisition_by_source_counts_the_cohort_and_its_costs(api: Api) -> None:
    await march(api)
    body = await report(api, "acquisition", by="utm_source", **MARCH)
    assert body == {"by": ["utm_source"], "rows": [BAIDU, NONE, DIANPING], "provisional": False}
    # The same days in UTC take in c6 (March 7, 16:30Z); cost dates are dates.
    utc = await report(api, "acquisition", by="utm_source", tz="UTC", **MARCH)
    assert utc["rows"][0]["new_customers"] == 3
    # A grouping costs never name (doctor) carries none; a campaign gets its own rows'.
    by_campaign = await report(api, "acquisition", by=["utm_source", "utm_campaign"], **MARCH)
    costs = {(r["utm_source"], r["utm_campaign"]): r["cost"] for r in by_campaign["rows"]}
    assert costs == {("baidu", "spring"): "50.00", ("baidu", "(none)"): "0.00"} | {
        ("(none)", "(none)"): "0.00",
        ("dianping", "(none)"): "0.00",
    }
    by_doctor = await report(api, "acquisition", by="doctor", **MARCH)
    assert [(r["doctor"], r["new_customers"], r["cost"]) for r in by_doctor["rows"]] == [
        ("(none)", 4, None)
    ]
    # The CSV has the same rows, the group first, amounts as in the JSON.
    response = await api.admin.get(
        "/v1/reports/acquisition", params={"by": "utm_source", "format": "csv", **MARCH}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    as_text = [{k: "" if v is None else str(v) for k, v in r.items()} for r in body["rows"]]
    assert lines == as_text
    assert next(iter(lines[0])) == "utm_source"


async def test_kpis_per_group_and_in_total_in_json_and_csv(api: Api) -> None:
    await march(api)
    body = await report(api, "kpis", by="utm_source", **MARCH)
    baidu = body["rows"][0]
    assert baidu == {
        "utm_source": "baidu",
        "traffic": 2,
        "conversion_rate": 0.5,
        "effective_traffic": 1,
        "average_order_value": "185.25",
        "sales": "370.50",
        "spread_rate": 0.3333,  # c1 shared; c1, c2 and c5 (first touched before) active
        "active_customers": 3,
        "sharing_customers": 1,
        "cost": "150.00",
        "traffic_cost": "75.00",
        "cost_per_conversion": "150.00",
        "roi": 2.47,
    }
    assert [r["utm_source"] for r in body["rows"]] == ["baidu", "(none)", "dianping"]
    assert body["total"] == {
        "traffic": 4,
        "conversion_rate": 0.25,
        "effective_traffic": 1,
        "average_order_value": "185.25",
        "sales": "370.50",
        "spread_rate": 0.2,  # five active (c6 is after the range), one sharing
        "active_customers": 5,
        "sharing_customers": 1,
        "cost": "200.00",  # every row of the range, the channel-only one too
        "traffic_cost": "50.00",
        "cost_per_conversion": "200.00",
        "roi": 1.8525,
    }
    assert body["provisional"] is False
    response = await api.admin.get(
        "/v1/reports/kpis", params={"by": "utm_source", "format": "csv", **MARCH}
    )
    lines = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [line["utm_source"] for line in lines] == ["baidu", "(none)", "dianping", "(total)"]
    assert (lines[-1]["traffic"], lines[-1]["cost"], lines[-1]["roi"]) == ("4", "200.00", "1.8525")
    assert lines[0]["spread_rate"] == "0.3333" and lines[1]["average_order_value"] == ""


async def test_a_staff_key_sees_its_clinics_customers_and_costs_only(api: Api) -> None:
    await march(api)
    body = await report(api, "acquisition", "staff", by="utm_source", **MARCH)
    # sz-01 only: no dianping customer (bj-01) nor its cost, no unnamed clinic's cost
    assert body["rows"] == [BAIDU, NONE]
    kpis = await report(api, "kpis", "staff", by="utm_source", **MARCH)
    assert (kpis["total"]["traffic"], kpis["total"]["cost"]) == (3, "150.00")
    # another clinic's id: the report of nobody
    other = await report(api, "kpis", "staff", by="utm_source", clinic_id="bj-01", **MARCH)
    assert other["rows"] == []
    assert (other["total"]["traffic"], other["total"]["cost"], other["total"]["roi"]) == (
        0,
        "0.00",
        None,
    )
    # an admin's clinic filter applies to customers and cost rows alike
    bj = await report(api, "acquisition", by="utm_source", clinic_id="bj-01", **MARCH)
    assert [(r["utm_source"], r["new_customers"], r["cost"]) for r in bj["rows"]] == [
        ("dianping", 1, "30.00")
    ]


async def test_merged_customers_and_window_and_range_edges(api: Api) -> None:
    # A customer first seen on WeChat, who paid, is merged into an older one by phone.
    older = await customer(api, 1, "sz-01")
    wechat = await identify(api, customer={"wechat_openid": "o-merge"})
    start = "2026-02-28T16:00:00Z"  # 00:00 on March 1 in Shanghai: in the range
    await track(
        api,
        wechat,
        ("page.viewed", start, {"utm_source": "baidu"}),
        ("appointment.paid", "2026-02-28T16:59:59.999999Z", {"amount": 88}),  # in 1h
    )
    assert await identify(api, customer={"phone": "13800000001", "wechat_openid": "o-merge"}) == (
        older
    )
    # Paid exactly one hour after the first touch: the window is over.
    late = await customer(api, 2, "sz-01")
    await track(
        api,
        late,
        ("page.viewed", "2026-03-03T02:00:00Z", {"utm_source": "baidu"}),
        ("appointment.paid", "2026-03-03T03:00:00Z", {"amount": 99}),
    )
    # First touched at the range's end (00:00 on March 8): not new.
    after = await customer(api, 3, "sz-01")
    await track(api, after, ("page.viewed", "2026-03-07T16:00:00Z", {"utm_source": "baidu"}))
    body = await report(api, "acquisition", by="utm_source", window="1h", **MARCH)
    (row,) = body["rows"]
    assert (row["new_customers"], row["converted"], row["revenue"]) == (2, 1, "88.00")
    week = await report(api, "acquisition", by="utm_source", window="7d", **MARCH)
    assert (week["rows"][0]["converted"], week["rows"][0]["revenue"]) == (2, "187.00")


async def test_empty_and_recent_ranges(api: Api) -> None:
    empty = await report(api, "kpis", **MARCH)
    assert (empty["by"], empty["rows"], empty["provisional"]) == (["channel"], [], False)
    total = empty["total"]
    assert (total["traffic"], total["conversion_rate"], total["sales"], total["cost"]) == (
        0,
        None,
        "0.00",
        "0.00",
    )
    assert (total["spread_rate"], total["average_order_value"], total["roi"]) == (None,) * 3
    today = datetime.now(UTC).date()
    recent = {"from": str(today - timedelta(days=3)), "to": str(today + timedelta(days=1))}
    for name in ("acquisition", "kpis"):
        assert (await report(api, name, **recent))["provisional"] is True
        closed = {"from": "2026-01-01", "to": str(date(2026, 1, 8))}
        assert (await report(api, name, window="1h", **closed))["provisional"] is False


@pytest.mark.parametrize("name", ["acquisition", "kpis"])
@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"from": "2026-03-08", "to": "2026-03-01"}, "to", "after from"),
        ({"from": "2026-03-01", "to": "2026-03-01"}, "to", "after from"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from", "date"),
        ({**MARCH, "tz": "Mars/Olympus"}, "tz", "unknown timezone"),
        ({**MARCH, "window": "soon"}, "window", "not a duration"),
        ({**MARCH, "window": "0h"}, "window", "between 1h and 366d"),
        ({**MARCH, "by": "favourite_colour"}, "by", "utm_source"),
        ({**MARCH, "format": "xlsx"}, "format", "csv"),
    ],
)
async def test_bad_requests_name_the_field(
    api: Api, name: str, params: dict[str, str], field: str, words: str
) -> None:
    response = await api.admin.get(f"/v1/reports/{name}", params=params)
    assert response.status_code == 422, response.text
    assert field in response.text and words in response.text, response.text
