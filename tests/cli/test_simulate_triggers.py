"""A scenario for a journey no scenario entry can trigger (``api``, ``segment_entered``,
``schedule``) enrolls its customer at the scenario's start, through the normal enroll
path (entry rule, key, re-entry), when it has no ``enroll`` entry (section 5)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.simulation import simulate

START = "2026-03-02T10:00:00+08:00"  # a Monday

TRIGGERS = {
    "api": "api: true",
    "segment_entered": "segment_entered: vip",
    "schedule": 'schedule: {cron: "0 10 * * 1", segment: vip}',
}

JOURNEY = """\
id: {id}
name: 入口测试
trigger:
  {trigger}
key: "{key}"
entry: {entry}
steps:
  - id: remind
    send: {{message: visit_reminder, channels: [sms], receipt_timeout: 30m}}
  - id: wait_booked
    wait_for: {{event: appointment.booked, timeout: 1d}}
    on_event: end
    on_timeout: end
  - id: end
    exit: done
"""

MESSAGE = """\
id: visit_reminder
name: 复查提醒
purpose: service
sms:
  template_id: "1234571"
  sign_name: 某某眼科
  text: "{1}您好,请按时到店复查。"
  params: ["{{ customer.name }}"]
"""

SEGMENT = """\
id: vip
name: 会员VIP
rule: {tag: VIP}
"""


def workspace(
    root: Path,
    kind: str,
    *,
    key: str = "",
    entry: str = "{consent: {purpose: service}}",
    scenario_extra: str = "",
    customer_id: str = "c-9001",
) -> Path:
    """A workspace with one journey triggered by ``kind``, and its scenario's path."""
    for folder in ("journeys", "messages", "segments", "scenarios"):
        (root / folder).mkdir(exist_ok=True)
    journey_id = f"visit_{kind}"
    (root / "journeys" / f"{journey_id}.yaml").write_text(
        JOURNEY.format(id=journey_id, trigger=TRIGGERS[kind], key=key, entry=entry), "utf-8"
    )
    (root / "messages" / "visit_reminder.yaml").write_text(MESSAGE, "utf-8")
    (root / "segments" / "vip.yaml").write_text(SEGMENT, "utf-8")
    scenario = root / "scenarios" / f"{journey_id}.yaml"
    scenario.write_text(
        f"""\
journey: ../journeys/{journey_id}.yaml
start: "{START}"
customer:
  id: {customer_id}
  attributes: {{name: 王芳, phone: "+8613600000009"}}
  tags: [VIP]
  consents:
    - {{purpose: service}}
providers:
  sms: {{result: Ok, receipt: SUCCESS, after: 5s}}
until: 3d
{scenario_extra}""",
        "utf-8",
    )
    return scenario


def pick(out: dict[str, Any], kind: str, *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(e.get(f) for f in fields) for e in out["trace"] if e["kind"] == kind]


@pytest.mark.parametrize("kind", sorted(TRIGGERS))
async def test_enrolled_at_start_without_an_enroll_entry(
    time_env: WorkflowEnvironment, tmp_path: Path, kind: str
) -> None:
    scenario = workspace(tmp_path, kind, customer_id=f"c-start-{kind}")
    out = (await simulate(scenario, keep_env=time_env)).as_json()
    # The trace of a normal enrollment: the first step at the scenario's start, its
    # send and receipt, the wait's timeout a day after the receipt, the exit.
    assert pick(out, "send", "step", "at") == [("remind", START)]
    assert pick(out, "attempt", "channel", "outcome") == [("sms", "accepted")]
    assert pick(out, "receipt", "channel", "outcome", "at") == [
        ("sms", "delivered", "2026-03-02T10:00:05+08:00")
    ]
    assert pick(out, "timeout", "step", "at") == [("wait_booked", "2026-03-03T10:00:05+08:00")]
    assert (out["status"], out["exit_reason"]) == ("completed", "done")


@pytest.mark.parametrize("kind", sorted(TRIGGERS))
async def test_an_entry_at_the_start_reaches_the_running_enrollment(
    time_env: WorkflowEnvironment, tmp_path: Path, kind: str
) -> None:
    scenario = workspace(
        tmp_path,
        kind,
        customer_id=f"c-event-{kind}",
        scenario_extra="events:\n  - {after: 0s, event: appointment.booked}\n",
    )
    out = (await simulate(scenario, keep_env=time_env)).as_json()
    # Signalled at the start, while the send waited for its receipt; the wait that
    # follows takes it at once.
    assert pick(out, "event", "event", "at") == [
        ("appointment.booked", "2026-03-02T10:00:05+08:00")
    ]
    assert pick(out, "timeout", "step") == []
    assert out["status"] == "completed"


@pytest.mark.parametrize("kind", sorted(TRIGGERS))
async def test_the_entry_rule_is_checked(
    time_env: WorkflowEnvironment, tmp_path: Path, kind: str
) -> None:
    scenario = workspace(tmp_path, kind, entry="{tag: 黑名单}", customer_id=f"c-refused-{kind}")
    out = (await simulate(scenario, keep_env=time_env)).as_json()
    assert out["status"] == "not_enrolled"
    assert out["exit_reason"] == "not_eligible: entry rule not met"
    assert out["trace"] == []


async def test_segment_entered_key_reads_the_segment(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # The context is the one a live segment enter gives: {segment: vip}.
    scenario = workspace(tmp_path, "segment_entered", key="{{ context.segment }}")
    result = await simulate(scenario, keep_env=time_env)
    assert result.enrollment_id == "journey:visit_segment_entered:customer:c-9001:key:vip"
    assert result.status == "completed"


async def test_schedule_enrolls_with_the_tick_key(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # As a tick does: the cron time in the schedule's zone after the journey's own key.
    scenario = workspace(tmp_path, "schedule", key="{{ context.segment }}")
    result = await simulate(scenario, keep_env=time_env)
    assert result.enrollment_id == (
        "journey:visit_schedule:customer:c-9001:key:vip@tick:2026-03-02T10:00+08:00"
    )
    assert result.status == "completed"


async def test_an_enroll_entry_still_decides_when_and_with_what(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    scenario = workspace(
        tmp_path,
        "api",
        key="{{ context.visit_id }}",
        customer_id="c-explicit",
        scenario_extra="enroll: {after: 2h, context: {visit_id: V-7}}\n",
    )
    result = await simulate(scenario, keep_env=time_env)
    out = result.as_json()
    assert result.enrollment_id == "journey:visit_api:customer:c-explicit:key:V-7"
    assert pick(out, "send", "at") == [("2026-03-02T12:00:00+08:00",)]
