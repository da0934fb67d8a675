"""Recorded histories of the example scenarios replay on the current interpreter.

A change that would break running enrollments (non-determinism, TMPRL1100) fails
here; guard such changes with ``workflow.patched`` and re-record (make histories).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from cli.simulation import simulate
from workflows.journey import JourneyWorkflow

HISTORIES = Path(__file__).parent / "histories"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "eye-clinic" / "scenarios"


def _replayer() -> Replayer:
    return Replayer(workflows=[JourneyWorkflow], data_converter=pydantic_data_converter)


def test_every_example_scenario_has_a_recorded_history() -> None:
    scenarios = {p.stem for p in EXAMPLES.glob("*.yaml")}
    recorded = {p.stem for p in HISTORIES.glob("*.json")}
    assert scenarios and scenarios == recorded, "run `make histories` and commit the files"


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_a_fresh_run_replays(time_env: WorkflowEnvironment) -> None:
    result = await simulate(
        EXAMPLES / "payment_recovery.yaml", keep_env=time_env, record_history=True
    )
    assert result.history_json is not None
    # A fresh run upserts its search attributes (journey, version, step, status).
    assert "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES" in result.history_json
    history = WorkflowHistory.from_json("fresh", result.history_json)
    replayed = await _replayer().replay_workflow(history)
    assert replayed.replay_failure is None


def test_recorded_histories_include_re_plans() -> None:
    # A re-plan cancels the running timer and starts another: the replay above covers it.
    for name in ("visit_reminder", "orthok_checks"):
        text = (HISTORIES / f"{name}.json").read_text(encoding="utf-8")
        assert "EVENT_TYPE_TIMER_CANCELED" in text, name
