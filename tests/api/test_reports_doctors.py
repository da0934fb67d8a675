"""GET /v1/reports/doctors and /v1/reports/clinics over data sent through the real API:
appointments rebooked with another doctor, paid and refunded, a merge, a customer with
no first touch, events on the range's edges, two timezones, staff keys, JSON and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.api.helpers import Api, identify

pytestmark = pytest.mark.db

MARCH = {"from": "2026-03-01", "to": "2026-03-08"}
_ids = itertools.count()


async def track(api: Api, who: dict[str, str], event: str, at: str, **props: Any) -> None:
    body = {
        "customer": who,
        "event": event,
        "timestamp": at,
        "properties": props,
        "message_id": f"m-{next(_ids)}",
    }
    response = await api.ingest.post("/v1/track", json=body)
    assert response.status_code == 202, response.text


async def clinic_week(api: Api) -> None:
    """Four customers of sz-01, bj-01 and none, one merged into another, over the first
    week of March 2026 in Asia/Shanghai (what each event proves is said beside it)."""
    await identify(api, customer={"phone": "13800138001"}, attributes={"clinic_id": "sz-01"})
    a = {"phone": "13800138001"}
    # The first instant of the range: a UTM visit naming dr-wang, A's first touch.
    at = "2026-03-01T00:00:00+08:00"
    await track(
        api, a, "page.viewed", at, utm_source="poster", doctor="dr-wang", doctor_id="dr-wang"
    )
    await track(api, a, "consultation.started", "2026-03-02T10:00:00+08:00", doctor_id="dr-wang")
    await track(api, a, "wechat.subscribed", "2026-03-02T10:05:00+08:00", app_id="wx-sz")
    await track(
        api,
        a,
        "appointment.booked",
        "2026-03-02T11:00:00+08:00",
        appointment_id="a1",
        doctor_id="dr-wang",
    )
    # Rebooked with dr-li: the payment and the refund are dr-li's.
    await track(
        api,
        a,
        "appointment.booked",
        "2026-03-03T09:00:00+08:00",
        appointment_id="a1",
        doctor_id="dr-li",
    )
    await track(
        api, a, "appointment.paid", "2026-03-04T09:00:00+08:00", appointment_id="a1", amount=880
    )
    await track(
        api,
        a,
        "appointment.refunded",
        "2026-03-05T09:00:00+08:00",
        appointment_id="a1",
        amount=80.5,
    )
    # Never booked: (none). On the range's end (half-open): not counted.
    await track(
        api, a, "appointment.paid", "2026-03-06T09:00:00+08:00", appointment_id="a9", amount=10
    )
    await track(
        api, a, "appointment.paid", "2026-03-08T00:00:00+08:00", appointment_id="a1", amount=1000
    )
    # B books with dr-wang in February, then turns out to be A (merged into A, the older).
    b = {"wechat_openid": "o-b"}
    await identify(api, customer=b)
    await track(
        api,
        b,
        "appointment.booked",
        "2026-02-20T11:00:00+08:00",
        appointment_id="a2",
        doctor_id="dr-wang",
    )
    await identify(api, customer={"phone": "13800138001", "wechat_openid": "o-b"})
    await track(api, b, "appointment.cancelled", "2026-03-06T10:00:00+08:00", appointment_id="a2")
    # C has no first touch: their first event makes them new, naming no doctor.
    c = {"phone": "13800138003"}
    await identify(api, customer=c, attributes={"clinic_id": "sz-01"})
    await track(api, c, "page.viewed", "2026-03-02T12:00:00+08:00", doctor_id="dr-li")
    await track(api, c, "wechat.subscribed", "2026-03-02T12:01:00+08:00", app_id="wx-sz")
    await track(api, c, "wechat.unsubscribed", "2026-03-03T12:01:00+08:00", app_id="wx-sz")
    # D of bj-01 has an appointment a1 too: another customer's, another appointment.
    d = {"phone": "13900139004"}
    await identify(api, customer=d, attributes={"clinic_id": "bj-01"})
    await track(
        api,
        d,
        "appointment.booked",
        "2026-03-02T10:00:00+08:00",
        appointment_id="a1",
        doctor_id="dr-zhao",
    )
    await track(
        api, d, "appointment.paid", "2026-03-02T11:00:00+08:00", appointment_id="a1", amount=500
    )
    await track(api, d, "wechat.subscribed", "2026-03-02T12:00:00+08:00", app_id="wx-bj")


def doctor(doctor_id: str, **figures: Any) -> dict[str, Any]:
    zero = {
        "views": 0,
        "consultations": 0,
        "bookings": 0,
        "paid": 0,
        "cancelled": 0,
        "refunded": 0,
        "revenue": "0.00",
        "new_customers": 0,
    }
    return {"doctor_id": doctor_id, **zero, **figures}


async def report(client: Any, name: str, **params: str) -> Any:
    response = await client.get(f"/v1/reports/{name}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def as_csv(client: Any, name: str, **params: str) -> list[dict[str, str]]:
    response = await client.get(f"/v1/reports/{name}", params={**params, "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text.removeprefix("\ufeff"))))


def flat(row: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A JSON row as its CSV line reads."""
    out: dict[str, str] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = "" if value is None else str(value)
    return out


async def test_doctors_attribute_appointments_to_their_latest_booking(api: Api) -> None:
    await clinic_week(api)
    body = await report(api.admin, "doctors", **MARCH)
    assert body["rows"] == [
        doctor("dr-li", views=1, bookings=1, paid=1, refunded=1, revenue="799.50"),
        doctor("dr-wang", views=1, consultations=1, bookings=1, cancelled=1, new_customers=1),
        doctor("dr-zhao", bookings=1, paid=1, revenue="500.00"),
        # a9 was never booked; C and D came without a first touch.
        doctor("(none)", paid=1, revenue="10.00", new_customers=2),
    ]
    lines = await as_csv(api.admin, "doctors", **MARCH)
    assert lines == [flat(r) for r in body["rows"]]


async def test_doctors_in_another_timezone_take_other_days(api: Api) -> None:
    await clinic_week(api)
    rows = {
        r["doctor_id"]: r for r in (await report(api.admin, "doctors", **MARCH, tz="UTC"))["rows"]
    }
    # 2026-03-01T00:00+08:00 is still February in UTC; 2026-03-08T00:00+08:00 is March 7.
    assert (rows["dr-wang"]["views"], rows["dr-wang"]["new_customers"]) == (0, 0)
    assert (rows["dr-li"]["paid"], rows["dr-li"]["revenue"]) == (2, "1799.50")


async def test_a_staff_key_sees_only_its_clinics_customers(api: Api) -> None:
    await clinic_week(api)
    rows = (await report(api.staff, "doctors", **MARCH))["rows"]
    assert [r["doctor_id"] for r in rows] == ["dr-li", "dr-wang", "(none)"]
    assert rows[-1] == doctor("(none)", paid=1, revenue="10.00", new_customers=1)
    for name in ("doctors", "clinics"):
        other = await report(api.other_staff, name, **MARCH, clinic_id="sz-01")
        assert other["rows"] == []
    clinics = await report(api.staff, "clinics", **MARCH)
    assert [r["clinic_id"] for r in clinics["rows"]] == ["sz-01"]


async def test_clinics_count_each_customers_home_clinic(api: Api) -> None:
    await clinic_week(api)
    body = await report(api.admin, "clinics", **MARCH)
    rows = {r["clinic_id"]: r for r in body["rows"]}
    assert list(rows) == ["bj-01", "sz-01"]
    sz = rows["sz-01"]
    assert (sz["new_customers"], sz["converted"], sz["conversion_rate"]) == (2, 1, 0.5)
    assert sz["followers"] == {"wx-sz": {"gained": 2, "lost": 1, "net": 1}}
    assert (sz["followers_gained"], sz["followers_lost"]) == (2, 1)
    # Bookings and payments of the range (B's February booking and the end's are not).
    assert (sz["bookings"], sz["paid"], sz["revenue"]) == (2, 2, "809.50")
    bj = rows["bj-01"]
    assert (bj["new_customers"], bj["converted"], bj["paid"], bj["revenue"]) == (1, 1, 1, "500.00")
    assert bj["followers"] == {"wx-bj": {"gained": 1, "lost": 0, "net": 1}}
    # March 2026's windows closed long ago (60 days).
    assert body["window_days"] == 60 and not body["provisional"]
    lines = await as_csv(api.admin, "clinics", **MARCH)
    assert [{k: v for k, v in line.items() if v != ""} for line in lines] == [
        flat(r) for r in body["rows"]
    ]
    only = await report(api.admin, "clinics", **MARCH, clinic_id="sz-01")
    assert only["rows"] == [sz]


async def test_a_cohort_still_in_its_window_is_provisional(api: Api) -> None:
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    await track(api, {"phone": "13800138009"}, "page.viewed", dt.datetime.now(dt.UTC).isoformat())
    week = {"from": str(today - dt.timedelta(days=6)), "to": str(today + dt.timedelta(days=1))}
    body = await report(api.admin, "clinics", **week)
    assert body["provisional"] and body["rows"][0]["provisional"]
    assert body["rows"][0]["conversion_rate"] == 0.0


async def test_an_empty_range_has_no_rows(api: Api) -> None:
    await clinic_week(api)
    for name in ("doctors", "clinics"):
        body = await report(api.admin, name, **{"from": "2025-01-01", "to": "2025-01-02"})
        assert body["rows"] == []
        assert await as_csv(api.admin, name, **{"from": "2025-01-01", "to": "2025-01-02"}) == []


@pytest.mark.parametrize("name", ["doctors", "clinics"])
@pytest.mark.parametrize(
    ("params", "field", "says"),
    [
        ({"from": "2026-03-32", "to": "2026-04-02"}, "from", "date"),
        ({"from": "2026-03-08", "to": "2026-03-01"}, "to", "must be after from"),
        ({"from": "2026-03-01", "to": "2026-03-01"}, "to", "must be after from"),
        ({**MARCH, "tz": "Mars/Olympus"}, "tz", "unknown timezone"),
        ({**MARCH, "format": "xml"}, "format", "json"),
    ],
)
async def test_bad_input_is_refused_naming_the_field(
    api: Api, name: str, params: dict[str, str], field: str, says: str
) -> None:
    response = await api.admin.get(f"/v1/reports/{name}", params=params)
    assert response.status_code == 422, response.text
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert field in errors and says in errors[field], response.text
