"""WeCom results read back from ``get_groupmsg_send_result`` reach the waiting step."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from activities.channels.wecom.client import build_wecom_client
from activities.channels.wecom.poll import wecom_results_once
from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

JOURNEY = {
    "id": "wecom_then_sms",
    "trigger": {"api": True},
    "steps": [
        {
            "id": "s",
            "send": {"message": "notice", "channels": ["wecom", "sms"], "receipt_timeout": "1d"},
            "on_failure": "failed",
        },
        {"id": "ok", "exit": "sent"},
        {"id": "failed", "exit": "nobody_reached"},
    ],
}


async def enroll_and_send(api: Api, tmp_path: Path, external: str) -> str:
    await deploy(api, workspace(tmp_path, [JOURNEY]))
    customer = {"wecom_external_userid": external, "wecom_owner_userid": "staff-1"}
    await identify(
        api,
        customer=customer,
        attributes={"name": "张三", "phone": "+8613800000009"},
        consents=[{"purpose": "service", "granted": True}],
    )
    response = await api.admin.post(
        "/v1/journeys/wecom_then_sms/enrollments", json={"customer": customer}
    )
    assert response.status_code == 201, response.text
    enrollment_id = str(response.json()["enrollment_id"])

    async def queued() -> Any:
        return [m for m in api.sims.wecom.messages if m.recipient == external]

    await api.wait_for("the WeCom task", queued)

    async def recorded() -> Any:
        # The activity records the provider's message id once the provider answered,
        # a moment after the simulator has the message: the poller reads that record.
        since = await api.env.get_current_time() - timedelta(days=1)
        pending = api.store.awaiting_results("wecom", since)
        return [d for d in pending if d.enrollment_id == enrollment_id and d.provider_ref]

    await api.wait_for("the WeCom delivery record", recorded)
    return enrollment_id


async def poll(api: Api) -> int:
    client = build_wecom_client(api.sims.channel_settings())
    return await wecom_results_once(
        api.store, api.dispatcher, client, await api.env.get_current_time()
    )


async def test_a_sent_wecom_message_completes_the_step(api: Api, tmp_path: Path) -> None:
    api.sims.wecom.configure(default={"result": "ok", "receipt": "success", "after": 0})
    enrollment_id = await enroll_and_send(api, tmp_path, "wm-sent")
    assert await poll(api) == 1
    result = await api.result(enrollment_id)
    assert (result.status, result.exit_reason) == ("completed", "sent")
    assert api.sims.sms.messages == []  # no fallback
    assert await poll(api) == 0  # the result is known: not asked again


async def test_not_a_friend_falls_back_to_sms(api: Api, tmp_path: Path) -> None:
    api.sims.wecom.configure(default={"result": "ok", "receipt": "not_friend", "after": 0})
    enrollment_id = await enroll_and_send(api, tmp_path, "wm-gone")
    assert await poll(api) == 1

    async def texted() -> Any:
        return [m for m in api.sims.sms.messages if m.recipient == "+8613800000009"]

    await api.wait_for("the SMS fallback", texted)
    trace = (await api.admin.get(f"/v1/enrollments/{enrollment_id}")).json()["trace"]
    receipts = [(e["channel"], e["outcome"], e["detail"]) for e in trace if e["kind"] == "receipt"]
    assert receipts == [("wecom", "failed", "not a friend of the staff member")]
    await api.dispatcher.cancel(enrollment_id, "test over")


async def test_an_unconfirmed_task_is_asked_again_later(api: Api, tmp_path: Path) -> None:
    api.sims.wecom.configure(default={"result": "ok", "receipt": "success", "after": 3600})
    enrollment_id = await enroll_and_send(api, tmp_path, "wm-wait")
    assert await poll(api) == 0  # the staff member has not confirmed yet
    assert await poll(api) == 0
    await api.dispatcher.cancel(enrollment_id, "test over")
