"""Channel state through the send activity: circuits, follows, subscribe balances,
SMS opt-outs and the customer-service window, on the real SDKs and simulators."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from activities.channels.registry import build_adapters
from activities.journey import JourneyActivities
from engine.contracts.journey import SendInput, SendResult
from engine.models.common import ChannelName
from engine.store import Customer, MemoryStore
from engine.workspace.loader import load_workspace
from rules.view import ConsentRecord, EventRecord
from simulators import ProviderSimulators

EXAMPLES = Path(__file__).parents[2] / "examples" / "eye-clinic"
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CONTEXT = {"appointment_id": "A-1", "package_name": "验光", "appointment_at": "明天"}
LIVE = {"group_qr_media_id": "MEDIA_1", "doctor_name": "王", "group_qr_url": "https://x.cn/g"}
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
        for journey in ("payment_recovery", "livestream_group", "summer_myopia_check"):
            self.store.put_bundle(workspace.bundle(journey, version=1))
        self.store.put_customer(
            Customer(
                id="c-1",
                attributes={"name": "张三", "clinic_name": "深圳南山店"},
                identities={"phone": "+8613800000001", "wechat_openid": "o-1"},
                follows_wechat=True,
                consents=[ConsentRecord(purpose="marketing", channel="sms", granted=True, at=T0)],
            )
        )
        self.activities = JourneyActivities(self.store, build_adapters(sims.channel_settings()))

    def send(
        self, channel: ChannelName, at: datetime = T0, journey: str = "payment_recovery"
    ) -> SendResult:
        message = {
            "payment_recovery": "payment_reminder",
            "livestream_group": "livestream_group",
            "summer_myopia_check": "summer_myopia_check",
        }[journey]
        context: dict[str, Any] = LIVE if journey == "livestream_group" else CONTEXT
        return self.activities.send_channel(
            SendInput(
                enrollment_id=f"e-{next(keys)}",
                journey_id=journey,
                version=1,
                customer_id="c-1",
                step="remind",
                now=at,
                context=context,
                message=message,
                channel=channel,
                idempotency_key=f"k-{next(keys)}",
            )
        )


@pytest.fixture
def rig(sims: ProviderSimulators) -> Rig:
    sims.reset()
    return Rig(sims)


def test_a_daily_quota_opens_the_circuit_until_the_next_day(rig: Rig) -> None:
    rig.sims.wechat.configure(per_call=[45009])
    refused = rig.send("wechat_template")
    assert (refused.outcome, refused.detail.split()[0]) == ("quota", "45009")
    later = rig.send("wechat_template", T0 + timedelta(hours=3))
    assert later.outcome == "skipped"
    # Midnight in Shanghai is 16:00 UTC.
    assert later.detail.startswith("circuit open until 2026-03-02T16:00:00+00:00 (45009")
    assert rig.sims.wechat.call_count("message/template/send") == 1
    # The next day the circuit is closed: the send is tried (and goes through).
    assert rig.send("wechat_template", T0 + timedelta(hours=15)).outcome == "accepted"
    assert rig.send("wechat_template", T0 + timedelta(hours=15, minutes=1)).outcome == "accepted"
    assert rig.sims.wechat.call_count("message/template/send") == 3


def test_an_empty_sms_package_stops_sms_for_an_hour(rig: Rig) -> None:
    rig.sims.sms.configure(per_call=["FailedOperation.InsufficientBalanceInSmsPackage"])
    assert rig.send("sms").outcome == "quota"
    assert rig.send("sms", T0 + timedelta(minutes=59)).outcome == "skipped"
    assert rig.send("sms", T0 + timedelta(minutes=61)).outcome == "accepted"
    assert rig.sims.sms.call_count("/") == 2


def test_43004_marks_the_customer_as_not_following(rig: Rig) -> None:
    rig.sims.wechat.configure(per_call=[43004])
    assert rig.send("wechat_template").outcome == "recipient"
    assert rig.store.get_customer("c-1").follows_wechat is False
    skipped = rig.send("wechat_template", T0 + timedelta(minutes=1))
    assert (skipped.outcome, skipped.detail) == ("skipped", "does not follow the Official Account")
    assert rig.sims.wechat.call_count("message/template/send") == 1


def test_43101_empties_the_subscribe_balance_and_a_consent_fills_it(rig: Rig) -> None:
    rig.sims.wechat.configure(per_call=[43101])
    assert rig.send("wechat_subscribe").outcome == "recipient"
    assert rig.store.subscribe_balance("c-1", "SUB_0001") == 0
    skipped = rig.send("wechat_subscribe", T0 + timedelta(minutes=1))
    assert skipped.outcome == "skipped" and "subscribe" in skipped.detail
    # The customer accepts the popup again (a consent callback or the API adds one).
    rig.store.change_subscribe_balance("c-1", "SUB_0001", delta=1, at=T0)
    assert rig.send("wechat_subscribe", T0 + timedelta(minutes=2)).outcome == "accepted"
    assert rig.store.subscribe_balance("c-1", "SUB_0001") == 0  # spent
    assert rig.send("wechat_subscribe", T0 + timedelta(minutes=3)).outcome == "skipped"


def test_the_sms_blacklist_withdraws_marketing_consent_for_sms(rig: Rig) -> None:
    daytime = T0 + timedelta(hours=1)
    rig.sims.sms.configure(per_call=["FailedOperation.PhoneNumberInBlacklist"])
    assert rig.send("sms", daytime, journey="summer_myopia_check").outcome == "recipient"
    [*_, withdrawal] = rig.store.get_customer("c-1").consents
    assert (withdrawal.purpose, withdrawal.channel, withdrawal.granted) == (
        "marketing",
        "sms",
        False,
    )
    again = rig.send("sms", daytime + timedelta(days=1), journey="summer_myopia_check")
    assert (again.outcome, again.detail) == ("skipped", "no marketing consent for sms")
    assert rig.sims.sms.call_count("/") == 1


def test_customer_service_messages_need_an_open_window_with_room(rig: Rig) -> None:
    closed = rig.send("wechat_text", journey="livestream_group")
    assert closed.outcome == "skipped" and "window closed" in closed.detail
    # A scan opens a one-minute window for three messages.
    rig.store.add_event("c-1", EventRecord(name="wechat.qr_scanned", at=T0))
    sent = [
        rig.send("wechat_text", T0 + timedelta(seconds=s), "livestream_group") for s in (1, 2, 3, 4)
    ]
    assert [r.outcome for r in sent] == ["delivered", "delivered", "delivered", "skipped"]
    assert "used up" in sent[3].detail
    assert rig.send("wechat_text", T0 + timedelta(minutes=2), "livestream_group").outcome == (
        "skipped"
    )
    # A message from the customer opens 48 hours for five more.
    rig.store.add_event(
        "c-1", EventRecord(name="wechat.message_received", at=T0 + timedelta(hours=1))
    )
    later = [
        rig.send("wechat_text", T0 + timedelta(hours=2, minutes=m), "livestream_group")
        for m in range(6)
    ]
    assert [r.outcome for r in later] == ["delivered"] * 5 + ["skipped"]
    assert rig.send("wechat_text", T0 + timedelta(hours=50), "livestream_group").outcome == (
        "skipped"
    )


def test_preferred_order_follows_the_customers_latest_own_action(rig: Rig) -> None:
    from engine.contracts.journey import OrderInput

    def order(channels: list[ChannelName]) -> list[ChannelName]:
        arg = OrderInput(
            enrollment_id="e-order",
            journey_id="payment_recovery",
            version=1,
            customer_id="c-1",
            step="remind",
            now=T0,
            channels=channels,
        )
        return rig.activities.channel_order(arg).channels

    matrix: list[ChannelName] = ["sms", "wecom", "wechat_template"]
    assert order(matrix) == matrix  # nothing known: as written
    rig.store.add_event("c-1", EventRecord(name="wecom.contact_added", at=T0))
    assert order(matrix) == ["wecom", "sms", "wechat_template"]
    rig.store.add_event("c-1", EventRecord(name="wechat.message_received", at=T0))
    assert order(matrix) == ["wechat_template", "sms", "wecom"]
    rig.store.set_attributes("c-1", {"preferred_channel": "sms"})  # the customer's own say
    assert order(matrix) == matrix
