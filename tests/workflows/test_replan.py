"""Dates that move (journey language section 3), run by the interpreter in Temporal's
time-skipping server: ``context_from`` events merge into the context, and a running
``until_context`` or ``until_attribute`` wait is re-planned by every change, at once
when the new end has passed; an unusable value keeps the end and says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from cli.simulation import simulate
from engine.contracts.journey import RunOptions
from tests.factories import entries, kinds, run, scenario, workspace
from workflows.journey import JourneyWorkflow

BOOKED = {
    "after": "0s",
    "event": "booked",
    "properties": {"appointment_id": "A-1", "appointment_at": "2026-03-10 10:00"},
}


def moved(after: str, appointment_at: Any, appointment_id: str = "A-1") -> dict[str, Any]:
    return {
        "after": after,
        "event": "moved",
        "properties": {"appointment_id": appointment_id, "appointment_at": appointment_at},
    }


def by_context(**extra: Any) -> dict[str, Any]:
    """A day before the enrollment's appointment_at, then remember when it was."""
    return {
        "id": "j",
        "trigger": {"event": "booked"},
        "context_from": [
            {"event": "moved", "where": {"appointment_id": "{{ context.appointment_id }}"}}
        ],
        "steps": [
            {
                "id": "day_before",
                "wait": {
                    "until_context": "appointment_at",
                    "offset": "1d",
                    "offset_negative": True,
                },
            },
            {"id": "note", "update": {"set": {"reminded_for": "{{ context.appointment_at }}"}}},
            {"id": "end", "exit": "done"},
        ],
        **extra,
    }


async def test_a_context_from_event_re_plans_and_later_steps_read_the_new_context(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, [by_context()])
    events = [BOOKED, moved("1d", "2026-03-05 09:00", "A-2"), moved("2d", "2026-03-12 15:30")]
    result = await run(time_env, scenario(ws, "j", events=events))
    out = result.as_json()
    # The other appointment's move is not this enrollment's.
    assert kinds(result) == [
        "day_before:wait",
        "day_before:context",
        "day_before:replan",
        "note:update",
        "end:exit",
    ]
    assert entries(result, "replan") == [
        {
            "at": "2026-03-04T10:00:00+08:00",
            "step": "day_before",
            "kind": "replan",
            "from": "2026-03-09T10:00:00+08:00",
            "to": "2026-03-11T15:30:00+08:00",
        }
    ]
    assert out["trace"][-1]["at"] == "2026-03-11T15:30:00+08:00"
    assert result.store is not None
    assert result.store.get_customer("c-1").attributes["reminded_for"] == "2026-03-12 15:30"


async def test_every_change_re_plans_and_a_past_end_ends_the_wait_at_once(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, [by_context()])
    events = [BOOKED, moved("1d", "2026-03-20 10:00"), moved("3d", "2026-03-05 12:00")]
    result = await run(time_env, scenario(ws, "j", events=events))
    assert [(e["at"], e["to"]) for e in entries(result, "replan")] == [
        ("2026-03-03T10:00:00+08:00", "2026-03-19T10:00:00+08:00"),
        ("2026-03-05T10:00:00+08:00", "2026-03-04T12:00:00+08:00"),
    ]
    # The new end (4 March 12:00) had passed when it came: the wait ends at once.
    assert result.as_json()["trace"][-1]["at"] == "2026-03-05T10:00:00+08:00"


async def test_a_removed_or_unreadable_date_keeps_the_end_and_says_why(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, [by_context()])
    events = [BOOKED, moved("1d", None), moved("2d", "下周二")]
    result = await run(time_env, scenario(ws, "j", events=events))
    details = [e["detail"] for e in entries(result, "replan")]
    assert details == [
        "context appointment_at is removed; the wait still ends at 2026-03-09T10:00:00+08:00",
        "context appointment_at is not a date: '下周二'; the wait still ends at "
        "2026-03-09T10:00:00+08:00",
    ]
    assert all("from" not in e for e in entries(result, "replan"))
    assert result.as_json()["trace"][-1]["at"] == "2026-03-09T10:00:00+08:00"


async def test_a_context_change_of_another_field_re_plans_nothing(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, [by_context()])
    other = {"after": "1d", "event": "moved", "properties": {"appointment_id": "A-1", "room": 3}}
    result = await run(time_env, scenario(ws, "j", events=[BOOKED, other]))
    assert kinds(result)[:2] == ["day_before:wait", "day_before:context"]
    assert entries(result, "replan") == []
    assert result.as_json()["trace"][-1]["at"] == "2026-03-09T10:00:00+08:00"


async def test_an_attributes_entry_re_plans_an_until_attribute_wait(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    journey = {
        "id": "j",
        "trigger": {"event": "go"},
        "steps": [
            {"id": "check", "wait": {"until_attribute": "fitted_on", "offset": "1d"}},
            {"id": "end", "exit": "done"},
        ],
    }
    ws = workspace(tmp_path, [journey])
    customer = {"id": "c-1", "attributes": {"name": "张三", "fitted_on": "2026-03-02 09:00"}}
    events = [
        {"after": "0s", "event": "go"},
        {"after": "1h", "attributes": {"name": "张三丰"}},  # not the date: nothing moves
        {"after": "2h", "attributes": {"fitted_on": "2026-03-06 09:00"}},
    ]
    result = await run(time_env, scenario(ws, "j", events=events, customer=customer))
    assert entries(result, "replan") == [
        {
            "at": "2026-03-02T12:00:00+08:00",
            "step": "check",
            "kind": "replan",
            "from": "2026-03-03T09:00:00+08:00",
            "to": "2026-03-07T09:00:00+08:00",
        }
    ]
    assert result.as_json()["trace"][-1]["at"] == "2026-03-07T09:00:00+08:00"


async def test_the_merged_context_survives_continue_as_new(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    journey = by_context()
    # A second wait on the same date after the first: continue-as-new at the boundary.
    journey["steps"].insert(
        1,
        {
            "id": "hour_before",
            "wait": {"until_context": "appointment_at", "offset": "1h", "offset_negative": True},
        },
    )
    ws = workspace(tmp_path, [journey])
    events = [BOOKED, moved("1d", "2026-03-12 15:30")]
    options = RunOptions(continue_as_new_after_events=15)
    result = await run(time_env, scenario(ws, "j", events=events), options)
    assert result.enrollment_id is not None
    described = await time_env.client.get_workflow_handle(result.enrollment_id).describe()
    info = described.raw_description.workflow_execution_info
    assert described.run_id != info.first_run_id  # it continued as new on the way
    ats = {e["step"]: e["at"] for e in result.as_json()["trace"] if e["kind"] == "update"}
    assert ats == {"note": "2026-03-12T14:30:00+08:00"}
    assert result.store is not None
    assert result.store.get_customer("c-1").attributes["reminded_for"] == "2026-03-12 15:30"


async def test_a_re_planned_run_replays(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    ws = workspace(tmp_path, [by_context()])
    path = scenario(ws, "j", events=[BOOKED, moved("1d", "2026-03-12 15:30")])
    result = await simulate(path, keep_env=time_env, record_history=True)
    assert result.history_json is not None
    assert "EVENT_TYPE_TIMER_CANCELED" in result.history_json
    history = WorkflowHistory.from_json("replanned", result.history_json)
    replayer = Replayer(workflows=[JourneyWorkflow], data_converter=pydantic_data_converter)
    replayed = await replayer.replay_workflow(history)
    assert replayed.replay_failure is None
