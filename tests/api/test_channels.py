"""Circuits of configuration errors through the whole service: a send meets an
unapproved SMS template or bad credentials, the circuit opens (GET /v1/channels), the
next customers' sends skip it with ``circuit_open`` and fall back without calling the
provider, ``carepath.channel_alert`` starts the operations journey, and a reset or a
deploy that changes the template closes it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.store.circuits import OPS_CUSTOMER
from tests.api.helpers import Api, deploy, identify
from tests.factories import SERVICE_MESSAGE, workspace

pytestmark = pytest.mark.db

REMIND = {
    "id": "remind",
    "trigger": {"api": True},
    "steps": [
        {"id": "send", "send": {"message": "notice", "channels": ["sms", "phone"]}},
        {"id": "done", "exit": "sent"},
    ],
}
# The operations journey: every alert becomes a task for the clinic's IT person.
OPS = {
    "id": "channel_alerts",
    "trigger": {"event": "carepath.channel_alert"},
    "steps": [
        {"id": "tell_it", "handoff": {"queue": "it", "due": "4h", "outcomes": {"fixed": "done"}}},
        {"id": "done", "exit": "handled"},
    ],
}
TEMPLATE_ERROR = "FailedOperation.TemplateIncorrectOrUnapproved"


async def _remind(api: Api, phone: str) -> list[tuple[str, str, str]]:
    """Enroll a customer in ``remind``; its attempts as (channel, outcome, detail)."""
    customer = {"phone": phone}
    await identify(api, customer=customer, attributes={"name": "张三"})
    r = await api.admin.post("/v1/journeys/remind/enrollments", json={"customer": customer})
    assert r.status_code == 201, r.text
    enrollment = r.json()["enrollment_id"]
    await api.result(enrollment)
    return [
        (e.channel or "", e.outcome or "", e.detail or "")
        for e in api.store.get_trace(enrollment)
        if e.kind == "attempt"
    ]


async def _sms(api: Api) -> dict[str, Any]:
    r = await api.admin.get("/v1/channels")
    assert r.status_code == 200, r.text
    (sms,) = [c for c in r.json()["channels"] if c["channel"] == "sms"]
    return dict(sms)


async def test_an_unapproved_template_opens_its_circuit_until_reset(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [REMIND, OPS]))
    api.sims.sms.configure(per_call=[TEMPLATE_ERROR])
    first = await _remind(api, "13800007001")
    assert [(c, o) for c, o, _ in first] == [("sms", "config"), ("phone", "accepted")]
    sms = await _sms(api)
    assert sms["state"] == "closed"  # the channel itself still works
    (circuit,) = sms["circuits"]
    assert (circuit["template"], circuit["state"]) == ("100", "open")
    assert circuit["error"].startswith(TEMPLATE_ERROR)

    # The next customer's SMS is passed over without a call, and falls back.
    second = await _remind(api, "13800007002")
    assert [(c, o) for c, o, _ in second] == [("sms", "skipped"), ("phone", "accepted")]
    assert second[0][2].startswith("circuit_open: sms template 100 since ")
    assert api.sims.sms.call_count("/") == 1

    # The alert is an event of the operations customer: its journey hands it to a person.
    assert await api.dispatcher.sweep(older_than=0) >= 1
    (event,) = api.store.list_events(OPS_CUSTOMER)
    assert (event.name, event.properties["channel"], event.properties["template"]) == (
        "carepath.channel_alert",
        "sms",
        "100",
    )
    assert event.properties["error"].startswith(TEMPLATE_ERROR)
    assert len(api.store.list_enrollments(customer_id=OPS_CUSTOMER)) == 1
    tasks = await api.wait_for("the alert's task", lambda: _tasks(api, "it"))
    assert [t["customer_id"] for t in tasks] == [OPS_CUSTOMER]

    r = await api.admin.post("/v1/channels/sms/reset", json={"template": "999"})
    assert r.status_code == 404, r.text  # never opened: a typo, said so
    r = await api.admin.post("/v1/channels/sms/reset", json={"template": "100"})
    assert r.status_code == 200, r.text
    assert [c["template"] for c in r.json()["closed"]] == ["100"]
    (circuit,) = (await _sms(api))["circuits"]
    assert (circuit["state"], circuit["closed_by"]) == ("closed", "api:admin-test")
    third = await _remind(api, "13800007003")
    assert [(c, o) for c, o, _ in third] == [("sms", "accepted")]
    assert api.sims.sms.call_count("/") == 2


async def _tasks(api: Api, queue: str) -> list[dict[str, Any]]:
    r = await api.admin.get("/v1/handoffs", params={"queue": queue})
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_bad_credentials_open_the_channel_circuit_and_a_reset_closes_it(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [REMIND]))
    api.sims.sms.configure(per_call=["AuthFailure.SecretIdNotFound"])
    await _remind(api, "13800007011")
    sms = await _sms(api)
    assert sms["state"] == "open" and sms["error"].startswith("AuthFailure.SecretIdNotFound")
    assert [c["template"] for c in sms["circuits"]] == [None]
    second = await _remind(api, "13800007012")
    assert second[0][1:] == ("skipped", second[0][2])
    assert "sms the whole channel" in second[0][2]
    assert api.sims.sms.call_count("/") == 1

    r = await api.admin.post("/v1/channels/sms/reset")
    assert r.status_code == 200, r.text
    assert (len(r.json()["closed"]), r.json()["quota_reset"]) == (1, False)
    assert (await _sms(api))["state"] == "closed"
    assert [o for _, o, _ in await _remind(api, "13800007013")] == ["accepted"]


async def test_a_quota_window_shows_and_a_channel_reset_ends_it(api: Api, tmp_path: Path) -> None:
    await deploy(api, workspace(tmp_path, [REMIND]))
    api.sims.sms.configure(per_call=["FailedOperation.InsufficientBalanceInSmsPackage"])
    await _remind(api, "13800007021")
    quota = (await _sms(api))["quota"]
    assert quota["state"] == "open" and quota["error"].startswith("FailedOperation.Insufficient")
    r = await api.admin.post("/v1/channels/sms/reset", json={})
    assert (r.status_code, r.json()["quota_reset"]) == (200, True)
    assert (await _sms(api))["quota"]["state"] == "closed"


async def test_a_deploy_that_changes_the_template_closes_its_circuit(
    api: Api, tmp_path: Path
) -> None:
    root = workspace(tmp_path, [REMIND])
    await deploy(api, root)
    api.sims.sms.configure(per_call=[TEMPLATE_ERROR])
    await _remind(api, "13800007031")
    await deploy(api, root)  # the same content: it stays open
    assert [c["state"] for c in (await _sms(api))["circuits"]] == ["open"]

    fixed = copy.deepcopy(SERVICE_MESSAGE)
    fixed["sms"]["sign_name"] = "某某眼科医院"  # the signature the vendor approved
    await deploy(api, workspace(tmp_path, [REMIND], [fixed]))
    (circuit,) = (await _sms(api))["circuits"]
    assert (circuit["state"], circuit["closed_by"]) == ("closed", "deploy")
    assert [o for _, o, _ in await _remind(api, "13800007032")] == ["accepted"]
