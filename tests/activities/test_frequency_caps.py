"""Frequency caps through the send activity: marketing SMS counted over every journey
per calendar day and month in the workspace timezone, on the real SDK and simulator."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from activities.channels.registry import build_adapters
from activities.journey import JourneyActivities
from engine.contracts.journey import SendInput, SendResult
from engine.settings import DEFAULT_FREQUENCY_CAPS
from engine.store import Customer, MemoryStore
from engine.workspace.loader import load_workspace
from rules.view import ConsentRecord
from simulators import ProviderSimulators

EXAMPLES = Path(__file__).parents[2] / "examples" / "eye-clinic"
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY_CAP = "frequency cap: 1 marketing sms a day"
MONTH_CAP = "frequency cap: 4 marketing sms a month"
CONTEXT = {"appointment_id": "A-1", "package_name": "验光", "appointment_at": "明天"}
#: Journeys and their messages: two marketing SMS campaigns and a service reminder.
MESSAGES = {
    "summer_myopia_check": "summer_myopia_check",
    "school_screening_parents": "parent_tip",
    "payment_recovery": "payment_reminder",
}
keys = itertools.count(1)


@pytest.fixture(scope="module")
def sims() -> Iterator[ProviderSimulators]:
    with ProviderSimulators() as running:
        yield running


class Rig:
    def __init__(self, sims: ProviderSimulators) -> None:
        self.sims = sims
        self.store = MemoryStore()
        workspace = load_workspace(EXAMPLES)
        for journey in MESSAGES:
            self.store.put_bundle(workspace.bundle(journey, version=1))
        self.store.put_customer(
            Customer(
                id="c-1",
                attributes={"name": "张三", "clinic_name": "深圳南山店"},
                identities={"phone": "+8613800000001"},
                consents=[ConsentRecord(purpose="marketing", channel="sms", granted=True, at=T0)],
            )
        )
        self.activities = JourneyActivities(
            self.store,
            build_adapters(sims.channel_settings()),
            caps=DEFAULT_FREQUENCY_CAPS,
            timezone="Asia/Shanghai",
        )

    def send(
        self, at: datetime = T0, journey: str = "summer_myopia_check", key: str | None = None
    ) -> SendResult:
        return self.activities.send_channel(
            SendInput(
                enrollment_id=f"e-{journey}-{next(keys)}",
                journey_id=journey,
                version=1,
                customer_id="c-1",
                step="invite",
                now=at,
                context=CONTEXT,
                message=MESSAGES[journey],
                channel="sms",
                idempotency_key=key or f"k-{next(keys)}",
            )
        )

    def sms_calls(self) -> int:
        return self.sims.sms.call_count("/")


@pytest.fixture
def rig(sims: ProviderSimulators) -> Rig:
    sims.reset()
    return Rig(sims)


def test_a_second_journeys_marketing_sms_the_same_day_is_skipped(rig: Rig) -> None:
    assert rig.send().outcome == "accepted"
    second = rig.send(T0 + timedelta(hours=2), journey="school_screening_parents")
    assert (second.outcome, second.detail) == ("skipped", DAY_CAP)
    assert rig.sms_calls() == 1
    # The next calendar day has room again.
    next_day = rig.send(T0 + timedelta(days=1), journey="school_screening_parents")
    assert next_day.outcome == "accepted"
    assert rig.sms_calls() == 2


def test_the_fifth_marketing_sms_in_a_month_is_skipped(rig: Rig) -> None:
    for day in range(4):
        assert rig.send(T0 + timedelta(days=day)).outcome == "accepted"
    fifth = rig.send(T0 + timedelta(days=4), journey="school_screening_parents")
    assert (fifth.outcome, fifth.detail) == ("skipped", MONTH_CAP)
    assert rig.sms_calls() == 4
    assert rig.send(datetime(2026, 3, 31, 12, 0, tzinfo=UTC)).detail == MONTH_CAP
    # April has room again (08:00 in Shanghai, when the quiet hours end).
    assert rig.send(datetime(2026, 4, 1, 0, 0, tzinfo=UTC)).outcome == "accepted"


def test_a_retried_send_is_not_counted_twice(rig: Rig) -> None:
    first = rig.send(key="k-retry")
    again = rig.send(T0 + timedelta(seconds=30), key="k-retry")
    assert first.outcome == again.outcome == "accepted"
    assert again.provider_ref == first.provider_ref
    assert rig.sms_calls() == 1
    assert list(rig.store.slots) == ["k-retry"]


def test_service_messages_are_not_capped(rig: Rig) -> None:
    assert rig.send().outcome == "accepted"
    for minutes in (1, 2, 3):
        at = T0 + timedelta(minutes=minutes)
        assert rig.send(at, journey="payment_recovery").outcome == "accepted"
    assert rig.sms_calls() == 4


def test_a_refused_send_gives_its_slot_back(rig: Rig) -> None:
    rig.sims.sms.configure(per_call=["FailedOperation.InsufficientBalanceInSmsPackage"])
    assert rig.send().outcome == "quota"
    # The package is topped up and the circuit closes after an hour: the day's slot
    # was never used, so the invitation goes out.
    assert rig.send(T0 + timedelta(minutes=61)).outcome == "accepted"
    assert rig.sms_calls() == 2
