"""Customers: the profile, tags that start journeys, consents and merges."""

from __future__ import annotations

import pytest

from tests.api.helpers import Api, deploy, identify

pytestmark = pytest.mark.db

RECOVERY = {
    "appointment_id": "A-1",
    "package_name": "青少年验光套餐",
    "appointment_at": "2026-03-05 09:30",
}


async def test_a_tag_added_through_the_api_enrolls_payment_recovery(api: Api) -> None:
    await deploy(api)
    customer_id = await identify(
        api,
        customer={"phone": "13800000000", "wechat_openid": "o-abc"},
        attributes={"name": "张三", "clinic_id": "sz-01", "age_group": "adult"},
        consents=[{"purpose": "service", "granted": True}],
    )
    response = await api.admin.post(
        f"/v1/customers/{customer_id}/tags",
        json={"add": ["预约取消支付"], "context": RECOVERY},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["changes"] == [{"tag": "预约取消支付", "added": True, "source": "api:admin-test"}]
    assert body["enrolled"] == ["payment_recovery:started"]
    enrollments = (await api.staff.get(f"/v1/customers/{customer_id}/enrollments")).json()
    assert [(e["journey_id"], e["key"], e["status"]) for e in enrollments] == [
        ("payment_recovery", "A-1", "running")
    ]

    again = await api.admin.post(
        f"/v1/customers/{customer_id}/tags", json={"add": ["预约取消支付"], "context": RECOVERY}
    )
    assert (again.json()["changes"], again.json()["enrolled"]) == ([], [])


async def test_without_consent_the_tag_is_set_but_nobody_is_enrolled(api: Api) -> None:
    await deploy(api, journey="payment_recovery")
    customer_id = await identify(api, customer={"phone": "13800000009"})
    body = (
        await api.admin.post(
            f"/v1/customers/{customer_id}/tags", json={"add": ["预约取消支付"], "context": RECOVERY}
        )
    ).json()
    assert (body["enrolled"], body["skipped"]) == ([], ["payment_recovery:not_eligible"])


async def test_the_profile_shows_tags_with_source_identities_consents_and_merges(
    api: Api,
) -> None:
    by_phone = await identify(api, customer={"phone": "13800000003"}, attributes={"name": "李四"})
    by_openid = await identify(api, customer={"wechat_openid": "o-li"}, tags=["直播报名"])
    merged = (
        await api.ingest.post(
            "/v1/identify",
            json={
                "customer": {"phone": "+86 138-0000-0003", "wechat_openid": "o-li"},
                "consents": [{"purpose": "marketing", "channel": "sms", "granted": True}],
            },
        )
    ).json()
    assert merged["customer_id"] == by_phone
    assert [(m["survivor_id"], m["merged_id"]) for m in merged["merges"]] == [(by_phone, by_openid)]
    consent = await api.admin.post(
        f"/v1/customers/{by_phone}/consents",
        json={"purpose": "marketing", "channel": "sms", "granted": False},
    )
    assert [c["granted"] for c in consent.json()] == [True, False]

    profile = (await api.admin.get(f"/v1/customers/{by_phone}")).json()
    assert profile["attributes"] == {"name": "李四"}
    assert profile["tags"] == [{"tag": "直播报名", "source": "api:crm"}]
    assert profile["merged_ids"] == [by_openid]
    assert [(c["purpose"], c["channel"], c["granted"]) for c in profile["consents"]] == [
        ("marketing", "sms", True),
        ("marketing", "sms", False),
    ]
    identities = (await api.admin.get(f"/v1/customers/{by_phone}/identities")).json()
    assert identities == [
        {"kind": "phone", "namespace": "", "value": "+8613800000003"},
        {"kind": "wechat_openid", "namespace": "", "value": "o-li"},
    ]
    merges = (await api.admin.get("/v1/merges", params={"customer": by_openid})).json()
    assert [m["survivor_id"] for m in merges] == [by_phone]


async def test_unknown_customers_are_404(api: Api) -> None:
    for path in ("/v1/customers/c-nobody", "/v1/customers/c-nobody/identities"):
        response = await api.staff.get(path)
        assert response.status_code == 404
        assert response.json()["detail"] == "no customer 'c-nobody'"
    tags = await api.admin.post("/v1/customers/c-nobody/tags", json={"add": ["x"]})
    assert tags.status_code == 404
