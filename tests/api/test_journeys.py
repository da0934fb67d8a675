"""Journeys: deploy, read, pause and resume; API enrollments and their answers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.errors import NotFound
from engine.store.records import Identities
from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

JOURNEYS = [
    "glasses_ready",
    "livestream_group",
    "orthok_checks",
    "orthok_followup",
    "payment_recovery",
    "review_invitation",
    "school_screening_parents",
    "summer_myopia_check",
    "visit_reminder",
]
RECOVERY = {"appointment_id": "A-7", "package_name": "验光", "appointment_at": "明天"}


async def consenting(api: Api, phone: str) -> str:
    return await identify(
        api,
        customer={"phone": phone},
        attributes={"name": "赵六", "clinic_id": "sz-01"},
        consents=[{"purpose": "service", "granted": True}],
    )


async def test_deploy_list_and_read_journeys(api: Api) -> None:
    deployed = await deploy(api)
    assert [(d["journey_id"], d["version"]) for d in deployed["deployed"]] == [
        (j, 1) for j in JOURNEYS
    ]
    again = await deploy(api)
    assert [d["version"] for d in again["deployed"]] == [1] * len(JOURNEYS)

    listed = (await api.admin.get("/v1/journeys")).json()
    assert [(j["id"], j["current_version"], j["paused"]) for j in listed] == [
        (j, 1, False) for j in JOURNEYS
    ]
    detail = (await api.admin.get("/v1/journeys/payment_recovery")).json()
    assert detail["name"] == "预约后未支付挽回"
    assert [v["version"] for v in detail["versions"]] == [1]
    assert detail["definition"]["trigger"] == {"tag_added": "预约取消支付"}
    assert [s["id"] for s in detail["definition"]["steps"]][:2] == ["remind", "wait_consult"]
    assert (await api.admin.get("/v1/journeys/nope")).status_code == 404


async def test_an_invalid_workspace_is_422_listing_every_problem(api: Api, tmp_path: Path) -> None:
    broken = {"id": "broken", "trigger": {"api": True}, "steps": [{"id": "s", "send": {}}]}
    root = workspace(tmp_path / "ws", [broken])
    response = await api.admin.post("/v1/journeys/deploy", json={"path": str(root)})
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/invalid-workspace"
    assert problem["errors"]
    for item in problem["errors"]:
        assert item["file"].endswith("broken.yaml")
        assert item["message"]
    assert (await api.admin.get("/v1/journeys")).json() == []
    missing = await api.admin.post("/v1/journeys/deploy", json={"path": str(tmp_path / "none")})
    assert missing.status_code == 422
    assert "does not exist" in missing.json()["errors"][0]["message"]


async def test_pause_stops_new_enrollments_until_resumed(api: Api) -> None:
    await deploy(api, journey="payment_recovery")
    customer_id = await consenting(api, "13500000001")
    paused = await api.admin.post("/v1/journeys/payment_recovery/pause")
    assert (paused.status_code, paused.json()["paused"]) == (200, True)

    tagged = await api.admin.post(
        f"/v1/customers/{customer_id}/tags", json={"add": ["预约取消支付"], "context": RECOVERY}
    )
    assert tagged.json()["enrolled"] == []
    enroll = {"customer": {"phone": "13500000001"}, "context": RECOVERY}
    refused = await api.admin.post("/v1/journeys/payment_recovery/enrollments", json=enroll)
    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/journey-closed"
    assert refused.json()["detail"] == "journey payment_recovery is paused"

    resumed = await api.admin.post("/v1/journeys/payment_recovery/resume")
    assert resumed.json()["paused"] is False
    started = await api.admin.post("/v1/journeys/payment_recovery/enrollments", json=enroll)
    assert started.status_code == 201, started.text
    assert started.json() == {
        "enrollment_id": f"journey:payment_recovery:customer:{customer_id}:key:A-7",
        "status": "started",
        "customer_id": customer_id,
    }
    assert (await api.admin.post("/v1/journeys/nope/pause")).status_code == 404


async def test_api_enrollment_answers(api: Api) -> None:
    await deploy(api, journey="payment_recovery")
    await consenting(api, "13500000002")
    await identify(api, customer={"phone": "13500000003"})
    path = "/v1/journeys/payment_recovery/enrollments"
    enroll = {"customer": {"phone": "13500000002"}, "context": RECOVERY}

    first = await api.admin.post(path, json=enroll)
    again = await api.admin.post(path, json=enroll)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["status"] == "already_active"
    assert again.json()["enrollment_id"] == first.json()["enrollment_id"]

    no_consent = await api.admin.post(
        path, json={"customer": {"phone": "13500000003"}, "context": RECOVERY}
    )
    assert no_consent.status_code == 409
    assert no_consent.json()["detail"] == "not_eligible: entry rule not met"
    unknown = await api.admin.post(
        path, json={"customer": {"phone": "13500000099"}, "context": RECOVERY}
    )
    assert unknown.status_code == 404
    with pytest.raises(NotFound):  # enrolling never creates a customer
        api.store.resolve(Identities(phone="13500000099"), create=False, at=datetime.now(UTC))
    no_journey = await api.admin.post("/v1/journeys/nope/enrollments", json=enroll)
    assert no_journey.status_code == 404


async def test_deploy_one_journey_file(api: Api) -> None:
    from tests.api.helpers import EYE_CLINIC

    path = EYE_CLINIC / "journeys" / "livestream_group.yaml"
    response = await api.admin.post("/v1/journeys/deploy", json={"path": str(path)})
    assert response.status_code == 200, response.text
    listed = {j["id"] for j in (await api.admin.get("/v1/journeys")).json()}
    assert listed == {"livestream_group"}
