"""The journey pages' parts that need no browser: who may steer, and an experiment's
arms against the control as the page words them (percentage points)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.console.journey_view import arm_lines, may_steer
from engine.reports.journey_metrics import experiment
from engine.store.metrics import ArmCount


@pytest.mark.parametrize(("role", "may"), [("admin", True), ("operator", True), ("staff", False)])
def test_only_admins_and_operators_pause_and_resume(role: str, may: bool) -> None:
    assert may_steer(role) is may


def test_each_arm_is_read_against_the_control_in_percentage_points() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    counted = [
        ArmCount(variant="holdout", entered=200, converted=20, running=0, last_entry=None),
        ArmCount(variant="call", entered=800, converted=160, running=0, last_entry=None),
    ]
    found = experiment("split", None, counted, None, now)
    assert found.control == "holdout" and not found.provisional
    [line] = arm_lines(found)
    assert line.variant == "call" and (line.entered, line.converted) == (800, 160)
    assert line.points == pytest.approx(10.0)  # 20 % against 10 %
    assert line.low is not None and line.high is not None
    assert line.low < 10.0 < line.high
    assert line.p_value is not None and line.p_value < 0.05 and line.significant


def test_an_open_experiment_is_never_called_significant() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    counted = [
        ArmCount(variant="holdout", entered=200, converted=20, running=5, last_entry=now),
        ArmCount(variant="call", entered=800, converted=160, running=5, last_entry=now),
    ]
    found = experiment("split", None, counted, None, now)
    [line] = arm_lines(found)
    assert found.provisional and not line.significant
