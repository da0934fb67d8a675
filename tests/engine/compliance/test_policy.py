"""The workspace's compliance.yaml settings: validated with file and line, deployed
as the ``compliance`` document, and used by the send activity in place of the
settings (which stay the fallback)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from activities.channels.registry import build_adapters
from activities.journey import JourneyActivities
from engine.compliance.content import load_rules
from engine.compliance.policy import opt_out_channels, policy_from, read_policy
from engine.contracts.journey import SendInput, SendResult
from engine.errors import ValidationFailed
from engine.settings import DEFAULT_FREQUENCY_CAPS, ComplianceSettings
from engine.store import Customer, MemoryStore
from engine.workspace.loader import load_workspace
from rules.view import ConsentRecord
from simulators import ProviderSimulators

EXAMPLES = Path(__file__).parents[3] / "examples" / "eye-clinic"
T0 = datetime(2026, 9, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
keys = itertools.count(1)


def test_without_a_workspace_file_the_settings_decide() -> None:
    policy = policy_from(None, None, ComplianceSettings(opt_out_keywords=["STOP"]))
    assert policy.opt_out_keywords == ("STOP",)
    assert policy.frequency_caps == tuple(DEFAULT_FREQUENCY_CAPS)
    assert (policy.quiet_hours.start, policy.quiet_hours.end) == ("21:00", "08:00")
    assert read_policy(object()).opt_out_keywords == ("T", "TD", "N", "R", "退订")


def test_a_key_the_workspace_writes_replaces_that_setting_only() -> None:
    policy = policy_from(
        {"opt_out_keywords": ["拒收"], "frequency_caps": []},
        None,
        ComplianceSettings(opt_out_keywords=["STOP"]),
    )
    assert policy.is_opt_out(" 拒收 ") and not policy.is_opt_out("STOP")
    assert policy.frequency_caps == ()  # an empty list: no caps at all
    assert policy.quiet_hours.start == "21:00"


def test_opt_out_replies_by_sms_and_wechat() -> None:
    policy = policy_from({"opt_out_keywords": ["R", "退订"]}, None)
    assert opt_out_channels("sms.replied", {"text": "r"}, policy) == ("sms",)
    assert opt_out_channels("sms.replied", {"text": "好的"}, policy) == ()
    assert opt_out_channels("wechat.message_received", {"content": "退订"}, policy) == (
        "wechat_template",
        "wechat_subscribe",
        "wechat_text",
    )
    assert opt_out_channels("form.submitted", {"text": "R"}, policy) == ()


def test_the_example_workspace_deploys_its_documents() -> None:
    workspace = load_workspace(EXAMPLES)
    compliance = workspace.documents["compliance"]
    assert compliance["opt_out_keywords"] == ["T", "TD", "N", "R", "退订", "拒收"]
    assert compliance["quiet_hours"] == {"start": "21:00", "end": "08:00"}
    assert {"purpose": "marketing", "channel": "sms", "limit": 1, "per": "day"} in compliance[
        "frequency_caps"
    ]
    assert workspace.documents["holidays"]["holidays"][0]["name"] == "国庆节"


def test_bad_settings_in_compliance_yaml_are_named_with_their_lines(tmp_path: Path) -> None:
    (tmp_path / "compliance.yaml").write_text(
        "opt_out_keywords: []\n"
        "frequency_caps:\n"
        "  - {purpose: marketing, channel: sms, limit: 0, per: day}\n"
        "  - {purpose: marketing, channel: fax, limit: 1, per: week}\n"
        "quiet_hours: {start: '25:00', end: '08:00'}\n",
        encoding="utf-8",
    )
    _, problems = load_rules(tmp_path)
    lines = sorted({p.line for p in problems if p.line is not None})
    assert lines == [1, 3, 4, 5]
    assert all(p.file.endswith("compliance.yaml") for p in problems)


def test_a_workspace_without_compliance_yaml_deploys_an_empty_document(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "ws", ignore=shutil.ignore_patterns("*.yaml", "scenarios"))
    for folder in ("journeys", "messages", "segments"):
        shutil.copytree(EXAMPLES / folder, tmp_path / "ws" / folder, dirs_exist_ok=True)
    workspace = load_workspace(tmp_path / "ws")
    assert workspace.documents["compliance"] == {}
    assert workspace.documents["holidays"] == {"holidays": []}


def test_an_invalid_compliance_file_fails_the_workspace(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "ws")
    (tmp_path / "ws" / "compliance.yaml").write_text("frequency_caps: 3\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as failed:
        load_workspace(tmp_path / "ws")
    [problem] = failed.value.problems
    assert problem.file.endswith("compliance.yaml") and problem.line == 1


@pytest.fixture(scope="module")
def sims() -> Iterator[ProviderSimulators]:
    with ProviderSimulators() as running:
        yield running


def send(activities: JourneyActivities, journey: str, message: str) -> SendResult:
    return activities.send_channel(
        SendInput(
            enrollment_id=f"e-{next(keys)}",
            journey_id=journey,
            version=1,
            customer_id="c-1",
            step="invite",
            now=T0,
            context={},
            message=message,
            channel="sms",
            idempotency_key=f"k-{next(keys)}",
        )
    )


def test_the_send_activity_counts_the_deployed_caps(sims: ProviderSimulators) -> None:
    sims.reset()
    store = MemoryStore()
    workspace = load_workspace(EXAMPLES)
    for journey in ("review_invitation", "summer_myopia_check"):
        store.put_bundle(workspace.bundle(journey, version=1))
    store.put_customer(
        Customer(
            id="c-1",
            attributes={"name": "张三", "clinic_name": "南山店"},
            identities={"phone": "+8613800000001"},
            consents=[ConsentRecord(purpose="marketing", channel="sms", at=T0)],
        )
    )
    activities = JourneyActivities(store, build_adapters(sims.channel_settings()))
    # Two marketing SMS a day in this workspace: the settings' default allows one.
    store.put_document(
        "compliance",
        {"frequency_caps": [{"purpose": "marketing", "channel": "sms", "limit": 2, "per": "day"}]},
        at=T0,
    )
    outcomes = [
        send(activities, "review_invitation", "review_invitation").outcome,
        send(activities, "summer_myopia_check", "summer_myopia_check").outcome,
        send(activities, "review_invitation", "review_reminder").detail,
    ]
    assert outcomes == ["accepted", "accepted", "frequency cap: 2 marketing sms a day"]
