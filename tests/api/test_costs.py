"""Costs from ad platforms: written idempotently per day and dimensions, refused whole
when one row is bad, read back by range with exact amounts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import Api

pytestmark = pytest.mark.db

BAIDU = {"utm_source": "baidu", "utm_medium": "cpc", "utm_campaign": "myopia-spring"}


async def post(api: Api, *rows: dict[str, Any]) -> Any:
    response = await api.admin.post("/v1/costs", json={"rows": list(rows)})
    assert response.status_code == 200, response.text
    return response.json()


async def read(api: Api, **params: str) -> Any:
    response = await api.admin.get("/v1/costs", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_repeated_row_replaces_the_earlier_one(api: Api) -> None:
    first = await post(
        api,
        {"date": "2026-03-01", "amount": "120.50", **BAIDU, "clicks": 40},
        {"date": "2026-03-01", "amount": 80, "channel": "school_event", "clinic_id": "sz-01"},
        {"date": "2026-03-02", "amount": 0.1, **BAIDU},
    )
    assert first == {"created": 3, "replaced": 0}
    # The platform restates March 1 as it settles: same day and dimensions, new amount.
    again = await post(api, {"date": "2026-03-01", "amount": "133.07", **BAIDU, "clicks": 44})
    assert again == {"created": 0, "replaced": 1}
    body = await read(api, **{"from": "2026-03-01", "to": "2026-03-03"})
    amounts = [(r["date"], r["amount"], r["utm_source"], r["clicks"]) for r in body["rows"]]
    assert sorted(amounts, key=str) == sorted(
        [
            ("2026-03-01", "133.07", "baidu", 44),
            ("2026-03-01", "80.00", None, None),
            ("2026-03-02", "0.10", "baidu", None),
        ],
        key=str,
    )
    assert body["amount"] == "213.17"  # exact: no float in between
    assert all(r["updated_by"] == "api:admin-test" for r in body["rows"])


async def test_an_unnamed_dimension_is_its_own_row_and_blank_means_unnamed(api: Api) -> None:
    await post(api, {"date": "2026-03-01", "amount": "10", "utm_source": "baidu"})
    # Naming another dimension makes another row; "" names nothing, as leaving it out.
    second = await post(
        api,
        {"date": "2026-03-01", "amount": "11", "utm_source": "baidu", "utm_medium": "cpc"},
        {"date": "2026-03-01", "amount": "12", "utm_source": "baidu", "utm_medium": ""},
    )
    assert second == {"created": 1, "replaced": 1}
    rows = (await read(api))["rows"]
    assert sorted(r["amount"] for r in rows) == ["11.00", "12.00"]


async def test_the_range_is_half_open_and_filters_by_clinic(api: Api) -> None:
    await post(
        api,
        {"date": "2026-02-28", "amount": "1", "clinic_id": "sz-01"},
        {"date": "2026-03-01", "amount": "2", "clinic_id": "sz-01"},
        {"date": "2026-03-01", "amount": "3", "clinic_id": "bj-01"},
        {"date": "2026-03-02", "amount": "4", "clinic_id": "sz-01"},
    )
    march_1 = await read(api, **{"from": "2026-03-01", "to": "2026-03-02"})
    assert sorted(r["amount"] for r in march_1["rows"]) == ["2.00", "3.00"]
    sz = await read(api, **{"from": "2026-03-01", "clinic_id": "sz-01"})
    assert [r["amount"] for r in sz["rows"]] == ["2.00", "4.00"]


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"date": "2026-03-01", "amount": "1.005"}, "rows.1.amount"),
        ({"date": "2026-03-01", "amount": "-5"}, "rows.1.amount"),
        ({"date": "2026-13-01", "amount": "5"}, "rows.1.date"),
        ({"amount": "5"}, "rows.1.date"),
        ({"date": "2026-03-01", "amount": "5", "utm_sorce": "baidu"}, "rows.1.utm_sorce"),
        ({"date": "2026-03-01", "amount": "5", "clicks": -1}, "rows.1.clicks"),
    ],
)
async def test_one_bad_row_refuses_the_request_naming_the_field(
    api: Api, row: dict[str, Any], field: str
) -> None:
    good = {"date": "2026-03-01", "amount": "9.99", "utm_source": "ok"}
    response = await api.admin.post("/v1/costs", json={"rows": [good, row]})
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}, response.text
    assert (await read(api))["rows"] == []  # nothing written, not even the good row


async def test_costs_need_an_admin_key(api: Api) -> None:
    body = {"rows": [{"date": "2026-03-01", "amount": "1"}]}
    assert (await api.staff.post("/v1/costs", json=body)).status_code == 403
    assert (await api.ingest.get("/v1/costs")).status_code == 403
