"""The segments API: deployed segments with sizes, member pages, CSV export, ad-hoc
previews with readable 422s, and admin-only access."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

SEGMENTS = [
    {"id": "vip", "name": "VIP 客户", "rule": {"tag": "VIP"}},
    {"id": "kids", "rule": {"attribute": "age_group", "eq": "child"}},
    {"id": "vip_kids", "rule": {"all": [{"segment": "vip"}, {"segment": "kids"}]}},
]
JOURNEY = {"id": "by_api", "trigger": {"api": True}, "steps": [{"id": "done", "exit": "done"}]}


async def people(api: Api) -> dict[str, str]:
    """Seven customers: four VIPs (one a child), two other children, one neither."""
    ids = {}
    for i in range(4):
        ids[f"vip{i}"] = await identify(
            api,
            customer={"phone": f"1380000000{i}"},
            attributes={
                "name": f"客户{i}",
                "clinic_id": "sz-01",
                "age_group": "child" if i == 0 else "adult",
            },
            tags=["VIP"],
        )
    for i in range(2):
        ids[f"kid{i}"] = await identify(
            api, customer={"phone": f"1390000000{i}"}, attributes={"age_group": "child"}
        )
    ids["other"] = await identify(api, customer={"phone": "13700000000"}, attributes={})
    return ids


@pytest.fixture
async def seeded(api: Api, tmp_path: Path) -> dict[str, str]:
    ids = await people(api)
    await deploy(api, workspace(tmp_path / "ws", [JOURNEY], segments=SEGMENTS))
    return ids


async def test_segments_are_listed_with_their_sizes(api: Api, seeded: dict[str, str]) -> None:
    response = await api.admin.get("/v1/segments")
    assert response.status_code == 200, response.text
    sizes = {s["id"]: (s["name"], s["size"]) for s in response.json()}
    assert sizes == {"kids": (None, 3), "vip": ("VIP 客户", 4), "vip_kids": (None, 1)}

    one = (await api.admin.get("/v1/segments/vip_kids")).json()
    assert one["size"] == 1
    assert one["rule"] == {"all": [{"segment": "vip"}, {"segment": "kids"}]}
    missing = await api.admin.get("/v1/segments/nope")
    assert missing.status_code == 404 and "vip" in missing.json()["detail"]


async def test_members_come_in_pages_by_customer_id(api: Api, seeded: dict[str, str]) -> None:
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.admin.get("/v1/segments/vip/members", params=params)).json()
        assert page["count"] == 4
        assert all(m["entered_at"] for m in page["members"])
        seen += [m["customer_id"] for m in page["members"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    vips = sorted(seeded[f"vip{i}"] for i in range(4))
    assert seen == vips and pages == 2

    too_big = await api.admin.get("/v1/segments/vip/members", params={"limit": 5000})
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["field"] == "limit"


async def test_members_export_as_csv(api: Api, seeded: dict[str, str]) -> None:
    response = await api.admin.get("/v1/segments/vip/members", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "segment-vip.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["customer_id", "entered_at", "name", "phone", "clinic_id", "timezone"]
    by_id = {r["customer_id"]: r for r in rows}
    assert sorted(by_id) == sorted(seeded[f"vip{i}"] for i in range(4))
    first = by_id[seeded["vip1"]]
    assert (first["name"], first["phone"], first["clinic_id"]) == (
        "客户1",
        "+8613800000001",
        "sz-01",
    )
    assert first["entered_at"]


async def test_a_preview_counts_an_ad_hoc_rule_and_lists_the_first_page(
    api: Api, seeded: dict[str, str]
) -> None:
    rule = {"any": [{"segment": "vip_kids"}, {"attribute": "age_group", "eq": "child"}]}
    response = await api.admin.post("/v1/segments/preview", json={"rule": rule, "limit": 2})
    assert response.status_code == 200, response.text
    body = response.json()
    children = sorted([seeded["vip0"], seeded["kid0"], seeded["kid1"]])
    assert body["count"] == 3
    assert [m["customer_id"] for m in body["members"]] == children[:2]
    assert body["next_cursor"] == children[1]
    assert all(m["entered_at"] is None for m in body["members"])

    nobody = await api.admin.post("/v1/segments/preview", json={"rule": {"tag": "无此标签"}})
    assert nobody.json() == {"count": 0, "members": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({"attribute": "age_group", "eqq": "child"}, "rule.eqq", "not a field"),
        (
            {"all": [{"tag": "VIP"}, {"event": "x", "within": "3 days"}]},
            "rule.all.1.within",
            "not a duration",
        ),
        ({"age_group": "child"}, "rule", "one of the keys"),
        ({"segment": "no_such"}, "rule", "segment 'no_such' is not deployed"),
    ],
)
async def test_a_bad_preview_rule_is_a_422_naming_the_field(
    api: Api, seeded: dict[str, str], rule: dict[str, Any], field: str, words: str
) -> None:
    response = await api.admin.post("/v1/segments/preview", json={"rule": rule})
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == field and words in error["message"], error


async def test_segments_need_an_admin_key(api: Api, seeded: dict[str, str]) -> None:
    for client, status in ((api.staff, 403), (api.ingest, 403), (api.anonymous, 401)):
        assert (await client.get("/v1/segments")).status_code == status
        assert (await client.get("/v1/segments/vip/members")).status_code == status
        preview = await client.post("/v1/segments/preview", json={"rule": {"tag": "VIP"}})
        assert preview.status_code == status
