"""A customer's audit trail and the PIPL refusal of automated marketing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from rules.evaluate import consent_granted
from rules.view import ConsentRecord
from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

JOURNEY = {
    "id": "audited",
    "trigger": {"api": True},
    "steps": [
        {"id": "s", "send": {"message": "notice", "channels": ["wechat_text", "sms"]}},
        {"id": "done", "exit": "sent"},
    ],
}


async def test_the_trail_shows_sends_skips_consents_and_exports_csv(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [JOURNEY]))
    customer = {"phone": "13800004444", "wechat_openid": "o-audit"}
    cid = await identify(
        api,
        customer=customer,
        attributes={"name": "李四"},
        consents=[{"purpose": "marketing", "channel": "sms", "granted": True}],
    )
    r = await api.admin.post("/v1/journeys/audited/enrollments", json={"customer": customer})
    assert r.status_code == 201, r.text
    await api.result(r.json()["enrollment_id"])
    refused = await api.admin.post(f"/v1/customers/{cid}/refuse-automated-marketing")
    assert refused.status_code == 200, refused.text

    trail = (await api.admin.get(f"/v1/customers/{cid}/audit")).json()
    lines = [(e["kind"], e["channel"], e["outcome"]) for e in trail]
    assert lines == [
        ("consent", "sms", "marketing"),
        ("skip", "wechat_text", "skipped"),  # does not follow: never called
        ("send", "sms", "accepted"),
        ("exit", None, None),
        ("consent_withdrawn", None, "marketing"),
    ]
    assert trail[1]["detail"] == "does not follow the Official Account"
    assert trail[-1]["detail"].startswith("source PIPL refusal")
    # The refusal covers every channel, the earlier SMS grant included.
    ledger = [
        ConsentRecord(
            purpose=c["outcome"], channel=c["channel"], granted=c["kind"] == "consent", at=c["at"]
        )
        for c in trail
        if c["kind"].startswith("consent")
    ]
    assert not consent_granted(ledger, "marketing", "sms")

    exported = await api.admin.get(f"/v1/customers/{cid}/audit", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["kind"] for row in rows] == [kind for kind, _, _ in lines]
    assert (await api.staff.get(f"/v1/customers/{cid}/audit")).status_code == 403
    assert (await api.admin.get("/v1/customers/c-nobody/audit")).status_code == 404
