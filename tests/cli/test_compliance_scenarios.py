"""The compliance scenarios of the example workspace, through the engine: a marketing
send skipped without consent, capped across two journeys, stopped by an opt-out reply,
deferred past a clinic holiday, and a minor's message addressed to a guardian."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.simulation import simulate
from engine.errors import ScenarioError
from tests.cli.test_simulate_examples import SCENARIOS, pick, trace_of


async def test_a_marketing_send_without_consent_is_skipped(time_env: WorkflowEnvironment) -> None:
    out = await trace_of(time_env, "marketing_no_consent")
    assert pick(out, "attempt", "step", "channel", "outcome", "detail") == [
        ("invite", "sms", "skipped", "no marketing consent for sms"),
        ("remind", "sms", "skipped", "no marketing consent for sms"),
    ]
    assert pick(out, "receipt", "channel") == []
    assert (out["status"], out["exit_reason"]) == ("completed", "invited")


async def test_the_daily_cap_counts_another_journeys_send(time_env: WorkflowEnvironment) -> None:
    result = await simulate(SCENARIOS / "marketing_capped_across_journeys.yaml", keep_env=time_env)
    out = result.as_json()
    assert pick(out, "attempt", "step", "outcome", "detail", "at") == [
        ("invite", "skipped", "frequency cap: 1 marketing sms a day", "2026-09-07T10:00:00+08:00"),
        ("remind", "accepted", "Ok send success", "2026-09-10T10:00:00+08:00"),
    ]
    assert out["status"] == "completed"
    # summer_myopia_check's send and the reminder are what the cap counted.
    assert result.store is not None
    assert sorted(s.day for s in result.store.slots.values()) == ["2026-09-07", "2026-09-10"]


async def test_an_opt_out_reply_stops_the_next_marketing_send(
    time_env: WorkflowEnvironment,
) -> None:
    result = await simulate(SCENARIOS / "marketing_opt_out_reply.yaml", keep_env=time_env)
    out = result.as_json()
    assert pick(out, "attempt", "step", "outcome", "detail") == [
        ("invite", "accepted", "Ok send success"),
        ("remind", "skipped", "no marketing consent for sms"),
    ]
    assert result.store is not None
    [*_, withdrawal] = result.store.get_customer("c-8003").consents
    assert (withdrawal.purpose, withdrawal.channel, withdrawal.granted) == (
        "marketing",
        "sms",
        False,
    )
    # The reply's time, 10:00 local (to the second: the test server's clock drifts by ms).
    assert withdrawal.at.replace(microsecond=0).isoformat() == "2026-09-08T02:00:00+00:00"


async def test_a_clinic_holiday_defers_marketing_to_its_end(time_env: WorkflowEnvironment) -> None:
    out = await trace_of(time_env, "marketing_clinic_holiday")
    assert pick(out, "attempt", "step", "outcome", "detail", "at")[:2] == [
        (
            "invite",
            "deferred",
            "clinic holiday 国庆节: quiet until 2026-10-08 08:00",
            "2026-10-02T10:00:00+08:00",
        ),
        ("invite", "accepted", "Ok send success", "2026-10-08T08:00:00+08:00"),
    ]


async def test_a_minors_message_goes_to_the_guardian_with_consent(
    time_env: WorkflowEnvironment,
) -> None:
    out = await trace_of(time_env, "minor_to_guardian")
    assert pick(out, "attempt", "step", "outcome", "detail") == [
        ("invite", "accepted", "to guardian g-8005-mother: Ok send success"),
    ]
    assert out["status"] == "converted"


async def test_a_minor_without_a_guardian_gets_nothing(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    text = (SCENARIOS / "minor_to_guardian.yaml").read_text(encoding="utf-8")
    head, _, tail = text.partition("  guardians:\n")
    tail = tail[tail.index("providers:") :]
    scenario = tmp_path / "scenarios" / "minor_alone.yaml"
    scenario.parent.mkdir()
    # Another customer id: the shared test server remembers c-8005's enrollment (never).
    scenario.write_text((head + tail).replace("id: c-8005", "id: c-8006"), encoding="utf-8")
    for folder in ("journeys", "messages"):
        (tmp_path / folder).symlink_to(SCENARIOS.parent / folder)
    out = (await simulate(scenario, keep_env=time_env)).as_json()
    assert pick(out, "attempt", "outcome", "detail") == [
        ("skipped", "minor: no guardian linked (never sent to a child's own contact)"),
    ]


async def test_prior_sends_must_name_a_journey_of_the_workspace(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    text = (SCENARIOS / "marketing_capped_across_journeys.yaml").read_text(encoding="utf-8")
    scenario = tmp_path / "scenarios" / "capped.yaml"
    scenario.parent.mkdir()
    scenario.write_text(text.replace("journey: summer_myopia_check", "journey: nope"), "utf-8")
    for folder in ("journeys", "messages"):
        (tmp_path / folder).symlink_to(SCENARIOS.parent / folder)
    with pytest.raises(ScenarioError, match="customer.sent names journey 'nope'"):
        await simulate(scenario, keep_env=time_env)
