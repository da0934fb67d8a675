"""Guardians through the API: linking and unlinking, the profile, a minor's send
addressed to the guardian (in the audit trail), and the workspace's opt-out keywords
withdrawing the guardian's consent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.errors import NotFound
from engine.store.records import Identities
from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

# Quiet hours that start two hours from now: this test is about who receives the
# send, not about when (the deferral has tests of its own).
_HOUR = datetime.now(ZoneInfo("Asia/Shanghai")).hour
JOURNEY = {
    "id": "invite",
    "trigger": {"api": True},
    "reentry": "always",
    "quiet_hours": {"start": f"{(_HOUR + 2) % 24:02d}:00", "end": f"{(_HOUR + 3) % 24:02d}:00"},
    "steps": [
        {"id": "s", "send": {"message": "offer", "channels": ["sms"]}},
        {"id": "done", "exit": "sent"},
    ],
}
OFFER = {
    "id": "offer",
    "purpose": "marketing",
    "sms": {
        "template_id": "2234599",
        "sign_name": "某某眼科",
        "text": "{1}家长您好,秋季视光复查已开放预约。拒收请回复R",
        "params": ["{{ customer.name }}"],
    },
}
CHILD = {"phone": "13500000201"}
MOTHER = {"phone": "13500000202"}


async def test_link_list_and_unlink_guardians(api: Api) -> None:
    kid = await identify(
        api, customer=CHILD, attributes={"name": "小雨", "birth_date": "2016-04-01"}
    )
    r = await api.admin.post(
        f"/v1/customers/{kid}/guardians", json={"identities": MOTHER, "relation": "mother"}
    )
    assert r.status_code == 200, r.text
    [link] = r.json()
    mother = link["guardian_id"]
    assert (link["relation"], link["source"], link["unlinked_at"]) == (
        "mother",
        "api:admin-test",
        None,
    )
    again = await api.admin.post(f"/v1/customers/{kid}/guardians", json={"guardian_id": mother})
    assert len(again.json()) == 1  # linked once
    profile = (await api.admin.get(f"/v1/customers/{kid}")).json()
    assert (profile["minor"], profile["guardians"]) == (True, [mother])
    assert (await api.admin.get(f"/v1/customers/{mother}")).json()["minor"] is False

    own = await api.admin.post(f"/v1/customers/{kid}/guardians", json={"guardian_id": kid})
    assert own.status_code == 409
    neither = await api.admin.post(f"/v1/customers/{kid}/guardians", json={"relation": "x"})
    assert neither.status_code == 422
    nobody = await api.admin.post(f"/v1/customers/{kid}/guardians", json={"guardian_id": "c-no"})
    assert nobody.status_code == 404
    assert (
        await api.staff.post(f"/v1/customers/{kid}/guardians", json={"guardian_id": mother})
    ).status_code == 403

    ended = await api.admin.delete(f"/v1/customers/{kid}/guardians/{mother}")
    assert ended.status_code == 200 and ended.json()[0]["unlinked_at"] is not None
    assert (await api.admin.get(f"/v1/customers/{kid}")).json()["guardians"] == []
    assert (await api.admin.delete(f"/v1/customers/{kid}/guardians/{mother}")).status_code == 404
    history = (await api.admin.get(f"/v1/customers/{kid}/guardians")).json()
    assert [h["guardian_id"] for h in history] == [mother]
    trail = (await api.admin.get(f"/v1/customers/{kid}/audit")).json()
    assert [(e["kind"], e["detail"]) for e in trail if e["kind"].startswith("guardian")] == [
        ("guardian_linked", f"guardian {mother} (mother), by api:admin-test"),
        ("guardian_unlinked", f"guardian {mother} (mother)"),
    ]


async def test_identify_links_the_guardians_it_names(api: Api) -> None:
    # A school screening form: the child, and the parent's phone and openid.
    body = {
        "customer": CHILD,
        "attributes": {"name": "小雨", "birth_date": "2016-04-01"},
        "guardians": [{"identities": MOTHER, "relation": "mother"}],
    }
    first = await api.ingest.post("/v1/identify", json=body)
    assert first.status_code == 200, first.text
    kid = first.json()["customer_id"]
    [mother] = first.json()["guardians_linked"]
    assert mother != kid
    assert await identify(api, customer=MOTHER) == mother  # created by the identities
    history = (await api.admin.get(f"/v1/customers/{kid}/guardians")).json()
    assert [(h["guardian_id"], h["relation"], h["source"]) for h in history] == [
        (mother, "mother", "api:crm")
    ]
    again = await api.ingest.post("/v1/identify", json=body)
    assert again.json()["guardians_linked"] == []  # linked once
    assert len((await api.admin.get(f"/v1/customers/{kid}/guardians")).json()) == 1

    unknown = {"customer": {"phone": "13500000203"}, "guardians": [{"guardian_id": "c-no"}]}
    assert (await api.ingest.post("/v1/identify", json=unknown)).status_code == 404
    with pytest.raises(NotFound):  # refused before anything was written
        api.store.resolve(Identities(phone="13500000203"), create=False, at=datetime.now(UTC))
    own = {"customer": CHILD, "guardians": [{"identities": CHILD}]}
    assert (await api.ingest.post("/v1/identify", json=own)).status_code == 409
    bad = {"customer": CHILD, "guardians": [{"relation": "father"}]}
    refused = await api.ingest.post("/v1/identify", json=bad)
    assert refused.status_code == 422 and "guardian_id or identities" in refused.text


async def test_a_minors_send_reaches_the_guardian_until_the_guardian_opts_out(
    api: Api, tmp_path: Path
) -> None:
    root = workspace(tmp_path, [JOURNEY], [OFFER])
    # This workspace's own opt-out keyword (not one of the settings' defaults).
    (root / "compliance.yaml").write_text("opt_out_keywords: [拒收]\n", encoding="utf-8")
    await deploy(api, root)
    assert api.store.get_document("compliance") == {"opt_out_keywords": ["拒收"]}
    assert api.store.get_document("holidays") == {"holidays": []}
    kid = await identify(
        api,
        customer=CHILD,
        attributes={"name": "小雨", "minor": True},
        consents=[{"purpose": "marketing", "channel": "sms", "granted": True}],
    )
    mother = await identify(
        api,
        customer=MOTHER,
        attributes={"name": "李梅"},
        consents=[{"purpose": "marketing", "channel": "sms", "granted": True}],
    )
    r = await api.admin.post(f"/v1/customers/{kid}/guardians", json={"guardian_id": mother})
    assert r.status_code == 200, r.text

    async def enroll() -> None:
        r = await api.admin.post("/v1/journeys/invite/enrollments", json={"customer": CHILD})
        assert r.status_code == 201, r.text
        await api.result(r.json()["enrollment_id"])

    await enroll()
    assert [m.recipient for m in api.sims.sms.messages] == ["+8613500000202"]
    [send] = [
        e for e in (await api.admin.get(f"/v1/customers/{kid}/audit")).json() if e["kind"] == "send"
    ]
    assert send["detail"].startswith(f"to guardian {mother}: ")

    reply = {"mobile": "13500000202", "nationcode": "86", "text": "拒收", "time": 1767225600}
    await api.anonymous.post(
        "/callbacks/tencent-sms/replies?token=dev-sms-callback-token", content=json.dumps(reply)
    )
    withdrawn = (await api.admin.get(f"/v1/customers/{mother}")).json()["consents"][-1]
    assert (withdrawn["channel"], withdrawn["granted"]) == ("sms", False)

    await enroll()
    assert len(api.sims.sms.messages) == 1  # nothing more was sent, to anyone
    skips = [
        e for e in (await api.admin.get(f"/v1/customers/{kid}/audit")).json() if e["kind"] == "skip"
    ]
    assert skips[-1]["detail"] == "minor: no guardian with marketing consent reachable by sms"


async def test_links_follow_merges_of_the_child_and_the_guardian(api: Api) -> None:
    kid = await identify(api, customer={"phone": "13500000301"}, attributes={"minor": True})
    mother = await identify(api, customer={"phone": "13500000302"})
    await api.admin.post(f"/v1/customers/{kid}/guardians", json={"guardian_id": mother})
    # The mother's WeChat identity was a customer of its own; naming both merges them.
    wechat = await identify(api, customer={"wechat_openid": "o-mother"})
    survivor = await identify(api, customer={"phone": "13500000302", "wechat_openid": "o-mother"})
    assert survivor in (mother, wechat)
    # The child's own WeChat identity, merged into the child the same way.
    await identify(api, customer={"wechat_openid": "o-kid"})
    kid_after = await identify(api, customer={"phone": "13500000301", "wechat_openid": "o-kid"})
    assert api.store.guardians_of(kid_after) == [survivor]
    again = await api.admin.post(
        f"/v1/customers/{kid_after}/guardians", json={"guardian_id": wechat}
    )
    assert len(again.json()) == 1  # the merged guardian is the same guardian
