"""The OpenAPI document describes every route, its errors and the bearer scheme."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import Api

pytestmark = pytest.mark.db

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
ROUTES = {
    ("post", "/v1/track"),
    ("post", "/v1/identify"),
    ("post", "/v1/chats"),
    ("post", "/v1/qrcodes"),
    ("get", "/v1/qrcodes"),
    ("get", "/v1/reports/sources"),
    ("get", "/v1/reports/active"),
    ("post", "/v1/reports/funnel"),
    ("get", "/v1/reports/channels"),
    ("get", "/v1/reports/acquisition"),
    ("get", "/v1/reports/kpis"),
    ("get", "/v1/reports/doctors"),
    ("get", "/v1/reports/clinics"),
    ("get", "/v1/customers/{customer_id}/touches"),
    ("get", "/v1/customers/{customer_id}"),
    ("get", "/v1/customers/{customer_id}/identities"),
    ("post", "/v1/customers/{customer_id}/tags"),
    ("post", "/v1/customers/{customer_id}/consents"),
    ("post", "/v1/customers/{customer_id}/subscribe-consents"),
    ("get", "/v1/customers/{customer_id}/guardians"),
    ("post", "/v1/customers/{customer_id}/guardians"),
    ("delete", "/v1/customers/{customer_id}/guardians/{guardian_id}"),
    ("post", "/v1/customers/{customer_id}/refuse-automated-marketing"),
    ("get", "/v1/customers/{customer_id}/audit"),
    ("get", "/v1/customers/{customer_id}/events"),
    ("get", "/v1/customers/{customer_id}/enrollments"),
    ("get", "/v1/merges"),
    ("get", "/v1/journeys"),
    ("get", "/v1/journeys/{journey_id}"),
    ("post", "/v1/journeys/deploy"),
    ("post", "/v1/journeys/{journey_id}/pause"),
    ("post", "/v1/journeys/{journey_id}/resume"),
    ("get", "/v1/journeys/{journey_id}/steps"),
    ("get", "/v1/journeys/{journey_id}/metrics"),
    ("get", "/v1/journeys/{journey_id}/runs"),
    ("get", "/v1/segments"),
    ("get", "/v1/segments/{segment_id}"),
    ("get", "/v1/segments/{segment_id}/members"),
    ("post", "/v1/segments/preview"),
    ("post", "/v1/journeys/{journey_id}/enrollments"),
    ("get", "/v1/enrollments/{enrollment_id}"),
    ("post", "/v1/enrollments/{enrollment_id}/cancel"),
    ("get", "/v1/handoffs"),
    ("post", "/v1/handoffs/{task_id}/claim"),
    ("post", "/v1/handoffs/{task_id}/complete"),
    ("get", "/v1/outbox"),
    ("post", "/v1/outbox/{kind}/{item_id}/retry"),
    ("post", "/v1/outbox/{kind}/{item_id}/discard"),
    ("get", "/v1/channels"),
    ("post", "/v1/channels/{channel}/reset"),
    ("post", "/v1/costs"),
    ("get", "/v1/costs"),
}

#: The Segment HTTP tracking API (outside /v1: Segment's SDKs append /v1/batch).
SEGMENT = {
    ("post", "/segment/v1/batch"),
    ("post", "/segment/v1/track"),
    ("post", "/segment/v1/identify"),
    ("post", "/segment/v1/page"),
}


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


async def test_every_route_is_documented_with_its_errors_and_auth(api: Api) -> None:
    document = (await api.anonymous.get("/openapi.json")).json()
    assert document["info"]["title"] == "carepath"
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["ApiKey"]["description"],
    }
    found = operations(document)
    callbacks = {
        ("get", "/callbacks/wechat"),
        ("post", "/callbacks/wechat"),
        ("post", "/callbacks/tencent-sms"),
        ("post", "/callbacks/tencent-sms/replies"),
        ("get", "/callbacks/wecom"),
        ("post", "/callbacks/wecom"),
    }
    assert set(found) == ROUTES | callbacks | SEGMENT | {("get", "/healthz"), ("get", "/readyz")}
    for key in SEGMENT:  # Segment's SDKs send the write key as the Basic user name
        assert found[key]["security"] == [{"WriteKey": []}, {"ApiKey": []}], key
        for code in ("401", "403", "422"):
            assert found[key]["responses"][code]["content"] == PROBLEM, (key, code)
    for key in ROUTES:
        operation = found[key]
        assert operation["security"] == [{"ApiKey": []}], key
        assert operation["description"], key
        for code in ("401", "403", "422"):
            assert operation["responses"][code]["content"] == PROBLEM, (key, code)
    for key in {k for k in ROUTES if "{" in k[1]} - {("post", "/v1/journeys/deploy")}:
        assert "404" in found[key]["responses"], key
    assert "security" not in found[("get", "/healthz")]
    for key in callbacks:  # the platforms cannot send API keys; WeChat's are signed
        assert "security" not in found[key] and found[key]["description"], key


async def test_every_schema_field_is_described(api: Api) -> None:
    document = (await api.anonymous.get("/openapi.json")).json()
    ours = {
        name: schema
        for name, schema in document["components"]["schemas"].items()
        if name not in {"HTTPValidationError", "ValidationError"}
    }
    for name, schema in ours.items():
        for field, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{name}.{field} has no description"


async def test_the_docs_page_is_served(api: Api) -> None:
    response = await api.anonymous.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


async def test_every_status_the_api_returns_is_documented(api: Api) -> None:
    document = (await api.anonymous.get("/openapi.json")).json()
    found = operations(document)
    for key, operation in found.items():
        if "requestBody" in operation:  # unparsable, too large, not JSON
            for code in ("400", "413", "415"):
                assert operation["responses"][code]["content"] == PROBLEM, (key, code)
    for key in {("post", "/callbacks/wechat"), ("post", "/callbacks/wecom")}:
        responses = found[key]["responses"]
        assert {"403", "413", "503"} <= set(responses), key
        assert responses["413"]["content"] == PROBLEM
    for key in {
        ("post", "/v1/journeys/{journey_id}/enrollments"),
        ("post", "/v1/journeys/{journey_id}/pause"),
        ("get", "/v1/journeys/{journey_id}/runs"),
    }:
        assert found[key]["responses"]["503"]["content"] == PROBLEM, key


async def test_enforced_constraints_are_in_the_json_schema(api: Api) -> None:
    schemas = (await api.anonymous.get("/openapi.json")).json()["components"]["schemas"]
    # at least one identity
    one_of_kinds = schemas["CustomerIdentities"]["anyOf"]
    assert {"required": ["phone"], "properties": {"phone": {"type": "string", "minLength": 1}}} in (
        one_of_kinds
    )
    # guardian_id or identities, not both
    assert [b["required"] for b in schemas["GuardianCreate"]["oneOf"]] == [
        ["guardian_id"],
        ["identities"],
    ]
    identify = schemas["IdentifyRequest"]["properties"]
    assert identify["guardians"]["maxItems"] == 10
    assert identify["tags"]["maxItems"] == 100
    assert identify["attributes"]["maxProperties"] == 200
    assert schemas["TrackBatch"]["properties"]["batch"]["maxItems"] == 500
    assert schemas["TrackEvent"]["properties"]["properties"]["x-max-depth"] == 8
