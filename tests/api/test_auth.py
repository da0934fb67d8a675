"""API keys: 401 without a known key, 403 outside the key's scope."""

from __future__ import annotations

import pytest

from tests.api.helpers import Api, identify

pytestmark = pytest.mark.db

EVENT = {"customer": {"phone": "13800000001"}, "event": "page.viewed", "message_id": "m-auth-1"}


async def test_no_key_or_an_unknown_key_is_401_with_a_bearer_challenge(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer cp_not-a-key"}, {"Authorization": "Basic eDp5"}):
        response = await api.anonymous.get("/v1/journeys", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert (body["status"], body["title"], body["type"]) == (
            401,
            "Unauthorized",
            "/problems/unauthorized",
        )


async def test_healthz_needs_no_key(api: Api) -> None:
    response = await api.anonymous.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/customers/c-x"),
        ("GET", "/v1/merges"),
        ("GET", "/v1/journeys"),
        ("POST", "/v1/journeys/payment_recovery/pause"),
        ("GET", "/v1/enrollments/e-x"),
        ("GET", "/v1/handoffs"),
        ("POST", "/v1/handoffs/t-x/claim"),
    ],
)
async def test_an_ingest_key_may_only_ingest(api: Api, method: str, path: str) -> None:
    response = await api.ingest.request(method, path)
    assert response.status_code == 403, response.text
    assert "crm" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/track"),
        ("POST", "/v1/identify"),
        ("GET", "/v1/journeys"),
        ("POST", "/v1/journeys/deploy"),
        ("POST", "/v1/customers/c-x/tags"),
        ("POST", "/v1/customers/c-x/consents"),
        ("POST", "/v1/journeys/j/enrollments"),
        ("POST", "/v1/enrollments/e-x/cancel"),
    ],
)
async def test_a_staff_key_may_not_ingest_deploy_or_change_customers(
    api: Api, method: str, path: str
) -> None:
    response = await api.staff.request(method, path, json={})
    assert response.status_code == 403, response.text


async def test_ingest_tracks_staff_reads_and_admin_does_both(api: Api) -> None:
    assert (await api.ingest.post("/v1/track", json=EVENT)).status_code == 202
    customer_id = await identify(
        api, customer={"phone": "13800000001"}, attributes={"clinic_id": "sz-01"}
    )
    for client in (api.staff, api.admin):
        response = await client.get(f"/v1/customers/{customer_id}")
        assert response.status_code == 200
        assert response.json()["id"] == customer_id
    again = {**EVENT, "message_id": "m-auth-2"}
    assert (await api.admin.post("/v1/track", json=again)).status_code == 202


async def test_a_staff_key_may_not_list_another_clinics_tasks(api: Api) -> None:
    assert (await api.staff.get("/v1/handoffs", params={"clinic": "sz-01"})).status_code == 200
    response = await api.staff.get("/v1/handoffs", params={"clinic": "bj-01"})
    assert response.status_code == 403
    assert "bj-01" in response.json()["detail"]
