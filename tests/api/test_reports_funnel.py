"""POST /v1/reports/funnel through the API: the seed case (content viewed, the mall
page, booked, paid; 60 days; by content), events tracked as other systems send them,
a merge, timezones across midnight, first touches and profile attributes as splits,
the clinic a staff key may see, CSV, and bad input."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.api.helpers import Api, identify

pytestmark = pytest.mark.db

SEED_STEPS = [
    {"event": "content.viewed"},
    {"event": "page.viewed", "where": {"page": "mall"}},
    {"event": "appointment.booked"},
    {"event": "appointment.paid"},
]
MARCH = {"from": "2026-03-01", "to": "2026-04-01"}


async def track(
    api: Api, who: dict[str, str], event: str, at: str, n: int, **properties: Any
) -> None:
    body = {
        "customer": who,
        "event": event,
        "properties": properties,
        "timestamp": at,
        "message_id": f"m-{sorted(who.values())[0]}-{n}",
    }
    response = await api.ingest.post("/v1/track", json=body)
    assert response.status_code == 202, response.text


async def funnel(api: Api, client: str = "admin", **body: Any) -> Any:
    asked = {"steps": SEED_STEPS, "window": "60d", **MARCH, **body}
    response = await getattr(api, client).post("/v1/reports/funnel", json=asked)
    assert response.status_code == 200, response.text
    return response.json()


def reached(steps: list[dict[str, Any]]) -> list[int]:
    return [s["customers"] for s in steps]


async def seed(api: Api) -> None:
    """Four customers of the seed case (times in UTC; Shanghai is 8 hours ahead)."""
    a, b = {"phone": "13800000001"}, {"phone": "13800000002"}
    c, d = {"phone": "13900000003"}, {"phone": "13800000004"}
    for who, clinic in ((a, "sz-01"), (b, "sz-01"), (c, "bj-01"), (d, "sz-01")):
        await identify(api, customer=who, attributes={"clinic_id": clinic})
    # A: the whole way, then a refund (a step once reached stays reached).
    await track(api, a, "content.viewed", "2026-03-02T02:00:00Z", 1, content_id="a1")
    await track(api, a, "page.viewed", "2026-03-02T03:00:00Z", 2, page="mall")
    await track(api, a, "appointment.booked", "2026-03-05T02:00:00Z", 3, amount=300)
    await track(api, a, "appointment.paid", "2026-03-06T02:00:00Z", 4, amount=300)
    await track(api, a, "appointment.refunded", "2026-03-07T02:00:00Z", 5, amount=300)
    # B: the home page does not count; a booking logged with the mall view is not after
    # it; the next day's is.
    await track(api, b, "content.viewed", "2026-03-03T02:00:00Z", 1, content_id="a1")
    await track(api, b, "page.viewed", "2026-03-03T02:30:00Z", 2, page="home")
    await track(api, b, "page.viewed", "2026-03-03T04:00:00Z", 3, page="mall")
    await track(api, b, "appointment.booked", "2026-03-03T04:00:00Z", 4)
    await track(api, b, "appointment.booked", "2026-03-04T04:00:00Z", 5)
    # C: books 71 days after entering, outside the 60-day window.
    await track(api, c, "content.viewed", "2026-03-10T02:00:00Z", 1, content_id="a2")
    await track(api, c, "page.viewed", "2026-03-11T02:00:00Z", 2, page="mall")
    await track(api, c, "appointment.booked", "2026-05-20T02:00:00Z", 3)
    # D: enters at 2026-03-31 17:00 UTC, April 1 01:00 in Shanghai (outside March there).
    await track(api, d, "content.viewed", "2026-03-31T17:00:00Z", 1, content_id="a2")
    await track(api, d, "page.viewed", "2026-04-01T00:00:00Z", 2, page="mall")


async def test_seed_case_12_content_to_paid_by_content_id(api: Api) -> None:
    await seed(api)
    report = await funnel(api, by="event.content_id")
    assert report["by"] == "event.content_id"
    assert report["provisional"] is False
    assert report["steps"] == [
        {
            "event": "content.viewed",
            "customers": 3,
            "from_previous": None,
            "from_first": 1.0,
            "median_seconds_from_previous": None,
        },
        {
            "event": "page.viewed",
            "customers": 3,
            "from_previous": 1.0,
            "from_first": 1.0,
            "median_seconds_from_previous": 7200.0,  # of 1h, 2h and 1d
        },
        {
            "event": "appointment.booked",
            "customers": 2,
            "from_previous": 0.6667,
            "from_first": 0.6667,
            "median_seconds_from_previous": 171000.0,  # the mean of 2d23h and 1d
        },
        {
            "event": "appointment.paid",
            "customers": 1,
            "from_previous": 0.5,
            "from_first": 0.3333,
            "median_seconds_from_previous": 86400.0,
        },
    ]
    assert [(g["value"], reached(g["steps"])) for g in report["groups"]] == [
        ("a1", [2, 2, 2, 1]),
        ("a2", [1, 1, 0, 0]),
    ]
    # A refund is an event like any other: paid, then refunded.
    refunds = await funnel(
        api, steps=[{"event": "appointment.paid"}, {"event": "appointment.refunded"}]
    )
    assert reached(refunds["steps"]) == [1, 1]
    assert refunds["groups"] is None


async def test_csv_has_the_same_numbers(api: Api) -> None:
    await seed(api)
    asked = {"steps": SEED_STEPS, "window": "60d", **MARCH, "by": "event.content_id"}
    response = await api.admin.post("/v1/reports/funnel", params={"format": "csv"}, json=asked)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [
        (r["by"], r["value"], r["step"], r["event"], r["customers"], r["from_previous"])
        for r in lines
    ] == [
        ("", "", "1", "content.viewed", "3", ""),
        ("", "", "2", "page.viewed", "3", "1.0"),
        ("", "", "3", "appointment.booked", "2", "0.6667"),
        ("", "", "4", "appointment.paid", "1", "0.5"),
        ("event.content_id", "a1", "1", "content.viewed", "2", ""),
        ("event.content_id", "a1", "2", "page.viewed", "2", "1.0"),
        ("event.content_id", "a1", "3", "appointment.booked", "2", "1.0"),
        ("event.content_id", "a1", "4", "appointment.paid", "1", "0.5"),
        ("event.content_id", "a2", "1", "content.viewed", "1", ""),
        ("event.content_id", "a2", "2", "page.viewed", "1", "1.0"),
        ("event.content_id", "a2", "3", "appointment.booked", "0", "0.0"),
        ("event.content_id", "a2", "4", "appointment.paid", "0", ""),
    ]
    assert lines[2]["median_seconds_from_previous"] == "171000.0"


async def test_days_are_local_to_the_timezone_asked(api: Api) -> None:
    await seed(api)
    # In UTC, D's view (March 31, 17:00) is inside March; its mall view 7 hours later.
    utc = await funnel(api, tz="UTC")
    assert reached(utc["steps"]) == [4, 4, 2, 1]
    assert utc["steps"][1]["median_seconds_from_previous"] == (7200 + 25200) / 2
    # April in Shanghai holds D alone.
    april = await funnel(api, **{"from": "2026-04-01", "to": "2026-04-02"})
    assert reached(april["steps"]) == [1, 1, 0, 0]


async def test_staff_see_only_their_clinic(api: Api) -> None:
    await seed(api)
    assert reached((await funnel(api, "staff"))["steps"]) == [2, 2, 2, 1]
    # Another clinic's id: the report of nobody, as if that clinic had no customers.
    assert reached((await funnel(api, "staff", clinic_id="bj-01"))["steps"]) == [0, 0, 0, 0]
    assert reached((await funnel(api, clinic_id="bj-01"))["steps"]) == [1, 1, 0, 0]
    assert reached((await funnel(api, "other_staff"))["steps"]) == [1, 1, 0, 0]


async def test_a_merged_customer_walks_the_funnel_once(api: Api) -> None:
    phone, openid = {"phone": "13800000009"}, {"wechat_openid": "o-merge"}
    await identify(api, customer=phone)
    await identify(api, customer=openid)
    await track(api, phone, "content.viewed", "2026-03-02T02:00:00Z", 1, content_id="a1")
    await track(api, phone, "page.viewed", "2026-03-02T03:00:00Z", 2, page="mall")
    await track(api, openid, "content.viewed", "2026-03-02T01:00:00Z", 1, content_id="a9")
    await track(api, openid, "appointment.booked", "2026-03-03T03:00:00Z", 2)
    before = await funnel(api, by="event.content_id")
    assert reached(before["steps"]) == [2, 1, 0, 0]
    # The two identities are one person: the survivor holds every event.
    await identify(api, customer={**phone, **openid})
    after = await funnel(api, by="event.content_id")
    assert reached(after["steps"]) == [1, 1, 1, 0]
    # Entered at the earlier view (the openid's, a9); the mall view 2 hours later.
    assert [g["value"] for g in after["groups"]] == ["a9"]
    assert after["steps"][1]["median_seconds_from_previous"] == 7200.0


async def test_splits_by_first_touch_and_profile_attribute(api: Api) -> None:
    touched, plain = {"phone": "13800000011"}, {"phone": "13800000012"}
    await identify(api, customer=plain, attributes={"clinic_id": "sz-01"})
    # UTM fields on a tracked event are the customer's first touch.
    await track(api, touched, "page.viewed", "2026-03-02T02:00:00Z", 1, utm_source="baidu")
    await track(api, touched, "appointment.booked", "2026-03-02T03:00:00Z", 2)
    await track(api, plain, "page.viewed", "2026-03-03T02:00:00Z", 1)
    steps = [{"event": "page.viewed"}, {"event": "appointment.booked"}]
    by_touch = await funnel(api, steps=steps, by="first_touch.utm_source")
    assert [(g["value"], reached(g["steps"])) for g in by_touch["groups"]] == [
        ("(none)", [1, 0]),
        ("baidu", [1, 1]),
    ]
    by_clinic = await funnel(api, steps=steps, by="attribute.clinic_id")
    assert [(g["value"], reached(g["steps"])) for g in by_clinic["groups"]] == [
        ("(none)", [1, 1]),
        ("sz-01", [1, 0]),
    ]


async def test_an_empty_range_has_nobody(api: Api) -> None:
    report = await funnel(api, by="first_touch.channel")
    assert reached(report["steps"]) == [0, 0, 0, 0]
    assert [s["from_first"] for s in report["steps"]] == [None] * 4
    assert report["groups"] == []
    assert report["provisional"] is False


_STEPS_OF = [{"event": f"e.s{i}"} for i in range(9)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-04-01", "to": "2026-03-01"}, "to"),
        ({"to": "2026-03-01"}, "to"),
        ({"from": "2025-01-01"}, "to"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"window": "60x"}, "window"),
        ({"window": "59m"}, "window"),
        ({"window": "367d"}, "window"),
        ({"by": "content_id"}, "by"),
        ({"by": "first_touch.referrer"}, "by"),
        ({"by": "event."}, "by"),
        ({"by": "event.a.b"}, "by"),
        ({"steps": _STEPS_OF[:1]}, "steps"),
        ({"steps": _STEPS_OF}, "steps"),
        ({"steps": [{"event": "a.b", "where": {"at": {"within": "7d"}}}, {"event": "c"}]}, "where"),
        ({"steps": [{"event": "a.b", "where": {"page": {"is": "x"}}}, {"event": "c"}]}, "where"),
        ({"steps": [{"event": "a.b", "filter": {}}, {"event": "c"}]}, "filter"),
    ],
)
async def test_bad_input_is_refused_with_the_field_named(
    api: Api, change: dict[str, Any], field: str
) -> None:
    body = {"steps": SEED_STEPS, "window": "60d", **MARCH, **change}
    response = await api.admin.post("/v1/reports/funnel", json=body)
    assert response.status_code == 422, response.text
    problems = response.json()["errors"]
    assert any(field in p["field"] for p in problems), problems
