"""Every example scenario runs and its trace says what its journey says should happen."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.simulation import simulate

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "examples" / "eye-clinic" / "scenarios"
CARE = [sys.executable, "-m", "cli"]


async def trace_of(env: WorkflowEnvironment, name: str) -> dict[str, Any]:
    return (await simulate(SCENARIOS / f"{name}.yaml", keep_env=env)).as_json()


def pick(out: dict[str, Any], kind: str, *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(e.get(f) for f in fields) for e in out["trace"] if e["kind"] == kind]


async def test_payment_recovery_falls_back_to_sms_and_hands_off(
    time_env: WorkflowEnvironment,
) -> None:
    out = await trace_of(time_env, "payment_recovery")
    assert pick(out, "attempt", "channel", "outcome") == [
        ("wechat_template", "recipient"),
        ("wechat_subscribe", "recipient"),
        ("sms", "accepted"),
    ]
    assert pick(out, "receipt", "channel", "outcome", "at") == [
        ("sms", "delivered", "2026-03-02T10:00:05+08:00")
    ]
    assert pick(out, "event", "event", "at") == [
        ("consultation.started", "2026-03-03T10:00:00+08:00")
    ]
    assert pick(out, "handoff", "outcome", "at") == [
        ("created", "2026-03-03T10:00:00+08:00"),
        ("booked", "2026-03-03T11:00:00+08:00"),
    ]
    assert (out["status"], out["exit_reason"]) == ("completed", "done")


async def test_payment_recovery_goal_ends_the_wait(time_env: WorkflowEnvironment) -> None:
    out = await trace_of(time_env, "payment_recovery_paid")
    assert out["status"] == "converted"
    assert out["trace"][-1]["kind"] == "goal"
    assert out["trace"][-1]["at"] == "2026-03-02T15:00:00+08:00"


async def test_payment_recovery_escalates_and_retries(time_env: WorkflowEnvironment) -> None:
    out = await trace_of(time_env, "payment_recovery_escalated")
    assert pick(out, "receipt", "channel", "outcome") == [("wechat_template", "failed")]
    assert ("sms", "quota") in pick(out, "attempt", "channel", "outcome")
    assert [o for (o,) in pick(out, "handoff", "outcome")] == [
        "created",
        "escalated",
        "not_reached",
        "created",
        "declined",
    ]
    assert pick(out, "wait", "step") == [("retry_later",)]
    assert out["exit_reason"] == "done"


async def test_school_screening_parents(time_env: WorkflowEnvironment) -> None:
    out = await trace_of(time_env, "school_screening_parents")
    # Sunday evening: the first touch waits for Monday 10:00.
    assert pick(out, "send", "at") == [("2026-03-09T10:00:00+08:00",)]
    assert pick(out, "receipt", "channel", "outcome") == [
        ("wecom", "timeout"),
        ("sms", "delivered"),
    ]
    assert out["variant"] == "call" and out["exit_reason"] == "nurtured"


async def test_livestream_invitation(time_env: WorkflowEnvironment) -> None:
    out = await trace_of(time_env, "livestream_group")
    assert pick(out, "attempt", "channel", "outcome") == [("wechat_text", "delivered")]
    assert [e["kind"] for e in out["trace"]] == ["send", "attempt", "tag", "update", "exit"]


async def test_orthok_checks_relative_to_the_fitting_date(time_env: WorkflowEnvironment) -> None:
    out = await trace_of(time_env, "orthok_followup")
    assert pick(out, "send", "step", "at") == [
        ("day1_remind", "2026-03-03T09:00:00+08:00"),
        ("week1_remind", "2026-03-09T09:00:00+08:00"),
        ("month1_remind", "2026-04-01T09:00:00+08:00"),
    ]
    assert pick(out, "handoff", "step", "outcome") == [
        ("week1_call", "created"),
        ("week1_call", "reached"),
    ]
    assert out["exit_reason"] == "followed_up"


async def test_wechat_43004_falls_back_to_sms(time_env: WorkflowEnvironment) -> None:
    out = await trace_of(time_env, "channel_43004_to_sms")
    # The first reminder: the template is refused (not following) and the SMS carries
    # it. 43004 marks the customer as not following, so the later reminders skip the
    # template without calling WeChat.
    sms = ("sms", "accepted", "Ok send success")
    unfollowed = ("wechat_template", "skipped", "does not follow the Official Account")
    assert pick(out, "attempt", "step", "channel", "outcome", "detail") == [
        ("day1_remind", "wechat_template", "recipient", "43004 require subscribe"),
        ("day1_remind", *sms),
        ("week1_remind", *unfollowed),
        ("week1_remind", *sms),
        ("month1_remind", *unfollowed),
        ("month1_remind", *sms),
    ]
    assert pick(out, "receipt", "channel") == []  # no receipt_timeout: accepted is sent
    assert pick(out, "handoff", "outcome") == []
    assert (out["status"], out["exit_reason"]) == ("completed", "followed_up")


async def test_sms_receipt_fail_falls_back_to_a_phone_handoff(
    time_env: WorkflowEnvironment,
) -> None:
    result = await simulate(SCENARIOS / "sms_receipt_fail_to_phone.yaml", keep_env=time_env)
    out = result.as_json()
    assert pick(out, "attempt", "channel", "outcome", "at") == [
        ("sms", "accepted", "2026-03-10T15:00:00+08:00"),
        ("phone", "accepted", "2026-03-10T15:00:20+08:00"),
    ]
    assert pick(out, "receipt", "channel", "outcome", "detail", "at") == [
        ("sms", "failed", "FAIL", "2026-03-10T15:00:20+08:00")
    ]
    [(outcome, task_id, at)] = pick(out, "handoff", "outcome", "detail", "at")
    assert (outcome, at) == ("created", "2026-03-10T15:00:20+08:00")
    # The phone channel counts as the step's delivery: the journey goes on at once.
    assert [e["kind"] for e in out["trace"]][-2:] == ["handoff", "exit"]
    assert (out["status"], out["exit_reason"]) == ("completed", "notified")
    assert result.store is not None
    task = result.store.get_task(task_id)
    assert (task.queue, task.customer_id, task.step) == ("phone", "c-6001", "notify")
    assert task.script is not None and "G-2026-0310-17" in task.script


async def test_marketing_sms_in_quiet_hours_waits_for_0800(
    time_env: WorkflowEnvironment,
) -> None:
    out = await trace_of(time_env, "marketing_sms_quiet_hours")
    assert pick(out, "send", "at") == [("2026-07-03T22:30:00+08:00",)]
    assert pick(out, "attempt", "channel", "outcome", "detail", "at") == [
        ("sms", "deferred", "quiet hours until 08:00", "2026-07-03T22:30:00+08:00"),
        ("sms", "accepted", "Ok send success", "2026-07-04T08:00:00+08:00"),
    ]
    assert pick(out, "receipt", "channel", "outcome", "at") == [
        ("sms", "delivered", "2026-07-04T08:00:05+08:00")
    ]
    assert (out["status"], out["exit_reason"]) == ("completed", "invited")


def test_cli_prints_the_trace_and_json() -> None:
    path = str(SCENARIOS / "payment_recovery_paid.yaml")
    human = subprocess.run([*CARE, "simulate", path], capture_output=True, text=True, check=True)
    assert "goal      appointment.paid" in human.stdout
    assert human.stdout.strip().endswith("status: converted (goal)")
    raw = subprocess.run(
        [*CARE, "simulate", path, "--json"], capture_output=True, text=True, check=True
    )
    out = json.loads(raw.stdout)
    assert set(out) == {"journey", "version", "status", "exit_reason", "variant", "trace"}
    assert (out["journey"], out["version"], out["status"]) == ("payment_recovery", 1, "converted")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "journey: ../journeys/j.yaml\nstart: 2026-03-02T10:00:00\ncustomer: {id: c}\n",
            "UTC offset",
        ),
        (
            "journey: ../journeys/j.yaml\nstart: '2026-03-02T10:00:00+08:00'\n"
            "customer: {id: c}\nuntil: forever\n",
            "until",
        ),
        (
            "journey: ../journeys/missing.yaml\nstart: '2026-03-02T10:00:00+08:00'\n"
            "customer: {id: c}\n",
            "does not exist",
        ),
    ],
)
def test_invalid_scenarios_exit_2_naming_the_problem(
    tmp_path: Path, body: str, expected: str
) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "j.yaml").write_text(
        "id: j\ntrigger: {api: true}\nsteps:\n  - {id: e, exit: done}\n", encoding="utf-8"
    )
    (tmp_path / "scenarios").mkdir()
    path = tmp_path / "scenarios" / "s.yaml"
    path.write_text(body, encoding="utf-8")
    done = subprocess.run([*CARE, "simulate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert expected in done.stderr and "s.yaml" in done.stderr


def test_invalid_journey_exits_2_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "j.yaml").write_text(
        "id: j\ntrigger: {api: true}\nsteps:\n  - id: a\n    wait: {duration: 1d}\n"
        "    next: nowhere\n",
        encoding="utf-8",
    )
    (tmp_path / "scenarios").mkdir()
    path = tmp_path / "scenarios" / "s.yaml"
    path.write_text(
        "journey: ../journeys/j.yaml\nstart: '2026-03-02T10:00:00+08:00'\ncustomer: {id: c}\n",
        encoding="utf-8",
    )
    done = subprocess.run([*CARE, "simulate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "j.yaml:6" in done.stderr and "nowhere" in done.stderr


async def test_livestream_sends_the_group_picture(time_env: WorkflowEnvironment) -> None:
    result = await simulate(SCENARIOS / "livestream_group.yaml", keep_env=time_env)
    assert result.as_json()["status"] == "completed"
    assert result.store is not None
    profile = result.store.get_customer("c-3001")
    assert "直播报名" in profile.tags
    assert profile.attributes["last_livestream"] == "livestream_dr_wang_0312"


async def test_visit_reminder_follows_the_rescheduled_appointment(
    time_env: WorkflowEnvironment,
) -> None:
    out = await trace_of(time_env, "visit_reminder")
    # Booked for 10 March 10:00, moved on 4 March to 12 March 15:30; a move of another
    # appointment (AP-2) on 5 March is not this enrollment's.
    assert pick(out, "context", "event", "at") == [
        ("appointment.rescheduled", "2026-03-04T10:00:00+08:00")
    ]
    assert pick(out, "replan", "from", "to", "at") == [
        ("2026-03-09T10:00:00+08:00", "2026-03-11T15:30:00+08:00", "2026-03-04T10:00:00+08:00")
    ]
    assert pick(out, "send", "at") == [("2026-03-11T15:30:00+08:00",)]
    assert (out["status"], out["exit_reason"]) == ("completed", "reminded")


async def test_visit_reminder_moved_earlier_is_sent_at_once(
    time_env: WorkflowEnvironment,
) -> None:
    out = await trace_of(time_env, "visit_reminder_moved_earlier")
    assert pick(out, "replan", "to", "at") == [
        ("2026-03-04T16:00:00+08:00", "2026-03-05T10:00:00+08:00")
    ]
    # The new day-before time had passed when the move came: the reminder goes then.
    assert pick(out, "send", "at") == [("2026-03-05T10:00:00+08:00",)]


async def test_orthok_checks_follow_the_corrected_fitting_date(
    time_env: WorkflowEnvironment,
) -> None:
    out = await trace_of(time_env, "orthok_checks")
    replans = [e for e in out["trace"] if e["kind"] == "replan"]
    assert [(e["step"], e["at"], e.get("to")) for e in replans] == [
        ("day1", "2026-03-02T10:00:00+08:00", "2026-03-05T09:00:00+08:00"),
        ("week1", "2026-03-07T08:00:00+08:00", None),  # 待定 is not a date: kept
        ("week1", "2026-03-08T08:00:00+08:00", "2026-03-10T09:00:00+08:00"),
    ]
    assert "待定" in replans[1]["detail"] and "2026-03-11T09:00:00+08:00" in replans[1]["detail"]
    assert pick(out, "send", "step", "at") == [
        ("day1_remind", "2026-03-05T09:00:00+08:00"),
        ("week1_remind", "2026-03-10T09:00:00+08:00"),
    ]
    assert out["exit_reason"] == "checks_sent"


def test_cli_shows_the_re_plan() -> None:
    path = str(SCENARIOS / "visit_reminder.yaml")
    human = subprocess.run([*CARE, "simulate", path], capture_output=True, text=True, check=True)
    assert "replan    2026-03-09T10:00:00+08:00 -> 2026-03-11T15:30:00+08:00" in human.stdout


def test_context_from_is_validated_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "journeys").mkdir()
    (tmp_path / "journeys" / "j.yaml").write_text(
        "id: j\ntrigger: {event: booked}\ncontext_from:\n"
        "  - event: moved\n    where: {appointment_id: '{{ customer.name }}'}\n"
        "steps:\n  - {id: e, exit: done}\n",
        encoding="utf-8",
    )
    done = subprocess.run([*CARE, "validate", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "j.yaml:5" in done.stdout + done.stderr
    assert "E-where-template" in done.stdout + done.stderr
