"""The send step: channel fallback through the real SDKs against the provider simulators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.factories import CUSTOMER, SERVICE_MESSAGE, entries, run, scenario, workspace

GO = {"after": "0s", "event": "go", "properties": {"item": "验光"}}
# A message from the customer an hour ago: the customer-service window is open.
CHATTED = {**CUSTOMER, "history": [{"event": "wechat.message_received", "ago": "1h"}]}


def send_journey(channels: list[str], **send: Any) -> dict[str, Any]:
    return {
        "id": "j",
        "trigger": {"event": "go"},
        "steps": [
            {
                "id": "s",
                "send": {"message": "notice", "channels": channels, **send},
                "on_failure": "failed",
            },
            {"id": "ok", "exit": "sent"},
            {"id": "failed", "exit": "nobody_reached"},
        ],
    }


def attempts(result: Any) -> list[tuple[str, str]]:
    return [(e["channel"], e["outcome"]) for e in entries(result, "attempt")]


async def test_recipient_error_falls_back_to_sms(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, [send_journey(["wechat_template", "sms"], receipt_timeout="30m")])
    providers = {
        "wechat_template": {"result": 43004},
        "sms": {"result": "Ok", "receipt": "SUCCESS"},
    }
    result = await run(time_env, scenario(ws, "j", events=[GO], providers=providers))
    assert attempts(result) == [("wechat_template", "recipient"), ("sms", "accepted")]
    assert entries(result, "attempt")[0]["detail"].startswith("43004")
    assert entries(result, "receipt") == [
        {
            "at": "2026-03-02T10:00:05+08:00",
            "step": "s",
            "kind": "receipt",
            "channel": "sms",
            "outcome": "delivered",
        }
    ]
    assert result.as_json()["exit_reason"] == "sent"


async def test_failed_and_missing_receipts_fall_back(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(
        tmp_path, [send_journey(["wechat_template", "wecom", "sms"], receipt_timeout="10m")]
    )
    providers = {
        "wechat_template": {"result": "ok", "receipt": "failed:user block"},
        "wecom": {"result": "ok", "receipt": "none"},
        "sms": {"result": "Ok", "receipt": "FAIL", "after": "1m"},
    }
    result = await run(time_env, scenario(ws, "j", events=[GO], providers=providers))
    receipts = [(e["channel"], e["outcome"], e["at"]) for e in entries(result, "receipt")]
    assert receipts == [
        ("wechat_template", "failed", "2026-03-02T10:00:05+08:00"),
        ("wecom", "timeout", "2026-03-02T10:10:05+08:00"),
        ("sms", "failed", "2026-03-02T10:11:05+08:00"),
    ]
    assert result.as_json()["exit_reason"] == "nobody_reached"


async def test_all_channels_refused_takes_on_failure(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, [send_journey(["wechat_text", "sms"])])
    providers = {
        "wechat_text": {"result": 45015},  # the platform says the window closed
        "sms": {"result": "FailedOperation.PhoneNumberInBlacklist"},
    }
    path = scenario(ws, "j", events=[GO], providers=providers, customer=CHATTED)
    result = await run(time_env, path)
    assert attempts(result) == [("wechat_text", "recipient"), ("sms", "recipient")]
    assert result.as_json()["exit_reason"] == "nobody_reached"


async def test_phone_channel_becomes_a_call_task(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, [send_journey(["sms", "phone"])])
    providers = {"sms": {"result": "InvalidParameterValue.IncorrectPhoneNumber"}}
    result = await run(time_env, scenario(ws, "j", events=[GO], providers=providers))
    assert attempts(result) == [("sms", "recipient"), ("phone", "accepted")]
    assert result.store is not None
    task = result.store.list_tasks("phone")[0]
    assert task.script == "请致电张三"
    assert task.clinic == "sz-01"  # the customer's clinic: its staff see the call


async def test_missing_variable_is_an_error_for_that_channel_only(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    message = dict(SERVICE_MESSAGE, wechat_text={"text": "{{ context.no_such_field }}"})
    ws = workspace(tmp_path, [send_journey(["wechat_text", "sms"])], messages=[message])
    result = await run(time_env, scenario(ws, "j", events=[GO], customer=CHATTED))
    attempt = entries(result, "attempt")
    assert (attempt[0]["channel"], attempt[0]["outcome"]) == ("wechat_text", "config")
    assert "no_such_field" in attempt[0]["detail"]
    assert (attempt[1]["channel"], attempt[1]["outcome"]) == ("sms", "accepted")


async def test_ineligible_channels_are_skipped_with_a_reason(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, [send_journey(["wechat_template", "wecom", "sms"])])
    customer = {
        "id": "c-9",
        "attributes": {"name": "李四", "phone": "+8613800000009"},
        "follows_wechat": False,
        "identities": {"wechat_openid": "o-9"},
    }
    result = await run(time_env, scenario(ws, "j", events=[GO], customer=customer))
    assert [(e["outcome"], e["detail"]) for e in entries(result, "attempt")] == [
        ("skipped", "does not follow the Official Account"),
        ("skipped", "no wecom_external_userid"),
        ("accepted", "Ok send success"),
    ]


async def test_marketing_waits_for_quiet_hours_to_end(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    message = {
        "id": "promo",
        "purpose": "marketing",
        "sms": {
            "template_id": "9",
            "sign_name": "某某眼科",
            "text": "{1}您好,护眼季活动开始了。拒收请回复R",
            "params": ["{{ customer.name }}"],
        },
    }
    spec = {
        "id": "j",
        "trigger": {"event": "go"},
        "steps": [{"id": "s", "send": {"message": "promo", "channels": ["sms"]}}],
    }
    ws = workspace(tmp_path, [spec], messages=[message])
    customer = {
        "id": "c-1",
        "attributes": {"name": "张三", "phone": "+8613800000000"},
        "consents": [{"purpose": "marketing", "channel": "sms"}],
    }
    path = scenario(ws, "j", events=[GO], customer=customer, start="2026-03-02T22:30:00+08:00")
    result = await run(time_env, path)
    attempt = entries(result, "attempt")
    assert [(e["outcome"], e["at"]) for e in attempt] == [
        ("deferred", "2026-03-02T22:30:00+08:00"),
        ("accepted", "2026-03-03T08:00:00+08:00"),
    ]
    no_consent = dict(customer, id="c-2", consents=[])
    path = scenario(
        ws, "j", "no_consent", events=[GO], customer=no_consent, start="2026-03-02T12:00:00+08:00"
    )
    skipped = entries(await run(time_env, path), "attempt")
    assert [(e["outcome"], e["detail"]) for e in skipped] == [
        ("skipped", "no marketing consent for sms")
    ]


async def test_a_late_receipt_changes_nothing_after_the_fallback(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # The template's receipt would come 15 minutes after the send, past
    # receipt_timeout: the step moves on to SMS at 10 minutes, and the SMS receipt
    # (matched by its own provider reference) ends the step once.
    ws = workspace(tmp_path, [send_journey(["wechat_template", "sms"], receipt_timeout="10m")])
    providers = {
        "wechat_template": {"result": "ok", "receipt": "success", "after": "15m"},
        "sms": {"result": "Ok", "receipt": "SUCCESS", "after": "5s"},
    }
    result = await run(time_env, scenario(ws, "j", events=[GO], providers=providers))
    receipts = [(e["channel"], e["outcome"], e["at"]) for e in entries(result, "receipt")]
    assert receipts == [
        ("wechat_template", "timeout", "2026-03-02T10:10:00+08:00"),
        ("sms", "delivered", "2026-03-02T10:10:05+08:00"),
    ]
    assert attempts(result) == [("wechat_template", "accepted"), ("sms", "accepted")]
    assert [e["kind"] for e in result.as_json()["trace"]].count("exit") == 1
    assert result.as_json()["exit_reason"] == "sent"
