"""Tencent Cloud SMS status reports reach the waiting enrollment, once per report."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.helpers import Api, deploy, identify

pytestmark = pytest.mark.db

RECOVERY = {"appointment_id": "A-3", "package_name": "验光", "appointment_at": "09:30"}


async def test_a_repeated_status_report_signals_once(api: Api) -> None:
    await deploy(api, journey="payment_recovery")
    number = "13800000055"
    # No openid: both WeChat channels are skipped and the SMS waits for its receipt.
    customer_id = await identify(
        api,
        customer={"phone": number},
        attributes={"name": "赵六", "clinic_id": "sz-01"},
        consents=[{"purpose": "service", "granted": True}],
    )
    tagged = await api.admin.post(
        f"/v1/customers/{customer_id}/tags", json={"add": ["预约取消支付"], "context": RECOVERY}
    )
    assert tagged.json()["enrolled"] == ["payment_recovery:started"]
    enrollment_id = f"journey:payment_recovery:customer:{customer_id}:key:A-3"

    async def accepted() -> Any:
        sent = [m for m in api.sims.sms.messages if number in m.recipient]
        return next((m for m in sent if api.store.find_delivery(m.provider_ref, "sms")), None)

    record = await api.wait_for("the SMS", accepted)
    report = json.dumps([api.sims.sms.status_report(record)], ensure_ascii=False)
    for _ in range(2):  # Tencent retried it
        response = await api.anonymous.post(
            "/callbacks/tencent-sms",
            content=report.encode(),
            headers={"Content-Type": "application/json"},
        )
        assert response.json() == {"result": 0, "errmsg": "OK"}

    async def received() -> Any:
        trace = (await api.admin.get(f"/v1/enrollments/{enrollment_id}")).json()["trace"]
        return [e for e in trace if e["kind"] == "receipt"]

    (entry,) = await api.wait_for("the receipt in the trace", received)
    assert (entry["channel"], entry["outcome"]) == ("sms", "delivered")
    history = await api.env.client.get_workflow_handle(enrollment_id).fetch_history()
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in history.events
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signals.count("receipt") == 1
