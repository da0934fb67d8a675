"""Circuits of configuration errors through the send activity, on the real SDKs and
simulators: a template error stops that template, a credential error the channel,
for every customer, without calling the provider; a reset or new settings close them;
and in a running journey the skipped channel falls back (the example scenario)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities import channel_state
from activities.channels.registry import build_adapters
from activities.journey import JourneyActivities
from engine.contracts.journey import SendInput, SendResult
from engine.settings import Settings
from engine.store import Customer, MemoryStore
from engine.store.circuits import ALERT_EVENT
from engine.workspace.loader import load_workspace
from simulators import ProviderSimulators
from tests.factories import entries, run

EXAMPLES = Path(__file__).parents[2] / "examples" / "eye-clinic"
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CONTEXT = {"appointment_id": "A-1", "package_name": "验光", "appointment_at": "明天"}
TEMPLATE_ERROR = "FailedOperation.TemplateIncorrectOrUnapproved"
keys = itertools.count(1)


@pytest.fixture(scope="module")
def sims() -> Iterator[ProviderSimulators]:
    with ProviderSimulators() as running:
        yield running


class Rig:
    """Two customers and two messages with SMS content of different templates."""

    def __init__(self, sims: ProviderSimulators) -> None:
        self.sims = sims
        self.store = MemoryStore()
        workspace = load_workspace(EXAMPLES)
        for journey in ("payment_recovery", "glasses_ready"):
            self.store.put_bundle(workspace.bundle(journey, version=1))
        for n in (1, 2):
            self.store.put_customer(
                Customer(
                    id=f"c-{n}",
                    attributes={"name": "张三", "clinic_name": "深圳南山店"},
                    identities={"phone": f"+861380000000{n}", "wechat_openid": f"o-{n}"},
                    follows_wechat=True,
                )
            )
        self.activities = JourneyActivities(self.store, build_adapters(sims.channel_settings()))

    def send(
        self, customer: str, at: datetime = T0, journey: str = "payment_recovery"
    ) -> SendResult:
        message = {"payment_recovery": "payment_reminder", "glasses_ready": "glasses_ready"}
        return self.activities.send_channel(
            SendInput(
                enrollment_id=f"e-{next(keys)}",
                journey_id=journey,
                version=1,
                customer_id=customer,
                step="remind",
                now=at,
                context=CONTEXT,
                message=message[journey],
                channel="sms",
                idempotency_key=f"k-{next(keys)}",
            )
        )

    def sms_calls(self) -> int:
        return self.sims.sms.call_count("/")


@pytest.fixture
def rig(sims: ProviderSimulators) -> Rig:
    sims.reset()
    return Rig(sims)


def test_an_invalid_sms_template_stops_that_template_for_everyone(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.sims.sms.configure(per_call=[TEMPLATE_ERROR])
    with caplog.at_level(logging.ERROR, logger="activities.channel_state"):
        refused = rig.send("c-1")
    assert (refused.outcome, refused.detail.split()[0]) == ("config", TEMPLATE_ERROR)
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "circuit opened: sms template" in caplog.text

    # Another customer, a day later: passed over without calling Tencent.
    skipped = rig.send("c-2", T0 + timedelta(days=1))
    assert skipped.outcome == "skipped"
    assert skipped.detail.startswith("circuit_open: sms template ")
    assert TEMPLATE_ERROR in skipped.detail
    assert rig.sms_calls() == 1
    # Another template on the same channel still goes.
    assert rig.send("c-2", T0 + timedelta(days=1), journey="glasses_ready").outcome == "accepted"
    assert rig.sms_calls() == 2
    # One opening, one alert, with what an operator needs.
    (alert,) = rig.store.alerts
    assert alert.name == ALERT_EVENT
    assert (alert.properties["channel"], alert.properties["error"].split()[0]) == (
        "sms",
        TEMPLATE_ERROR,
    )
    assert alert.properties["template"] and alert.properties["opened_at"] == T0.isoformat()


def test_a_bad_credential_stops_the_whole_channel_until_reset(rig: Rig) -> None:
    rig.sims.sms.configure(per_call=["AuthFailure.SecretIdNotFound"])
    assert rig.send("c-1").outcome == "config"
    for journey in ("payment_recovery", "glasses_ready"):
        skipped = rig.send("c-2", T0 + timedelta(minutes=5), journey=journey)
        assert skipped.outcome == "skipped"
        assert skipped.detail.startswith("circuit_open: sms the whole channel since ")
    assert rig.sms_calls() == 1
    # The operator fixed the SecretId and resets the circuit: the next send is tried.
    assert rig.store.close_config_circuit("sms", "", by="api:ops", at=T0 + timedelta(hours=1))
    assert rig.send("c-2", T0 + timedelta(hours=2)).outcome == "accepted"
    assert rig.sms_calls() == 2
    assert len(rig.store.alerts) == 1


def test_new_channel_settings_close_the_channel_circuit(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.sims.sms.configure(per_call=["AuthFailure.SecretIdNotFound"])
    assert rig.send("c-1").outcome == "config"
    assert rig.send("c-2", T0 + timedelta(minutes=1)).outcome == "skipped"
    # The workers restart with a new SecretId: the circuit opened under the old one closes.
    rotated = Settings.model_validate({"channels": {"sms": {"secret_id": "AKIDrotated"}}})
    monkeypatch.setattr(channel_state, "get_settings", lambda: rotated)
    assert rig.send("c-2", T0 + timedelta(minutes=2)).outcome == "accepted"
    (circuit,) = rig.store.config_circuits.values()
    assert circuit.closed_by == "settings"


def test_a_quota_answer_keeps_its_window_and_opens_no_config_circuit(rig: Rig) -> None:
    rig.sims.sms.configure(per_call=["FailedOperation.InsufficientBalanceInSmsPackage"])
    assert rig.send("c-1").outcome == "quota"
    assert rig.store.config_circuits == {} and rig.store.alerts == []
    assert rig.send("c-2", T0 + timedelta(minutes=61)).outcome == "accepted"


async def test_a_running_journey_skips_the_open_circuit_and_falls_back(
    time_env: WorkflowEnvironment,
) -> None:
    result = await run(time_env, EXAMPLES / "scenarios" / "template_circuit_to_sms.yaml")
    attempts = [(e["step"], e["channel"], e["outcome"]) for e in entries(result, "attempt")]
    assert attempts == [
        ("day1_remind", "wechat_template", "config"),
        ("day1_remind", "sms", "accepted"),
        ("week1_remind", "wechat_template", "skipped"),
        ("week1_remind", "sms", "accepted"),
        ("month1_remind", "wechat_template", "skipped"),
        ("month1_remind", "sms", "accepted"),
    ]
    skipped = [e["detail"] for e in entries(result, "attempt") if e["outcome"] == "skipped"]
    assert all(d.startswith("circuit_open: wechat_template template TM00188") for d in skipped)
    assert result.status == "completed"
