"""Channel state in the SQL store: circuits, subscribe balances, sends per customer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.store.records import DeliveryRecord, Identities
from engine.store.sql import SqlStore

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def test_a_circuit_is_open_until_its_time_and_a_later_opening_extends_it(
    sql_store: SqlStore,
) -> None:
    assert sql_store.circuit("sms", T0) is None
    sql_store.open_circuit("sms", T0 + timedelta(hours=1), "empty package", T0)
    sql_store.open_circuit("sms", T0 + timedelta(minutes=5), "minute quota", T0)  # shorter
    assert sql_store.circuit("sms", T0) == (T0 + timedelta(hours=1), "empty package")
    assert sql_store.circuit("sms", T0 + timedelta(hours=1)) is None  # closed by time
    assert sql_store.circuit("wechat_template", T0) is None


def test_subscribe_balances_count_per_template_and_follow_merges(sql_store: SqlStore) -> None:
    a = sql_store.resolve(Identities(phone="13800000001"), at=T0).customer_id
    b = sql_store.resolve(Identities(wechat_openid="o-1"), at=T0 + timedelta(minutes=1)).customer_id
    assert sql_store.subscribe_balance(a, "SUB_1") is None  # never recorded: unknown
    assert sql_store.change_subscribe_balance(a, "SUB_1", delta=2, at=T0) == 2
    assert sql_store.change_subscribe_balance(a, "SUB_1", delta=-5, at=T0) == 0  # not below 0
    sql_store.change_subscribe_balance(a, "SUB_1", delta=1, at=T0)
    sql_store.change_subscribe_balance(b, "SUB_1", delta=2, at=T0)
    sql_store.change_subscribe_balance(b, "SUB_2", set_to=1, at=T0)
    sql_store.resolve(Identities(phone="13800000001", wechat_openid="o-1"), at=T0)  # merge
    assert sql_store.subscribe_balance(a, "SUB_1") == 3
    assert sql_store.subscribe_balance(b, "SUB_2") == 1  # b follows to a


def test_sends_per_customer_and_channel_are_counted(sql_store: SqlStore) -> None:
    cid = sql_store.resolve(Identities(phone="13800000002"), at=T0).customer_id
    for minute, channel in ((0, "wechat_text"), (1, "wechat_text"), (2, "sms")):
        sql_store.begin_delivery(
            DeliveryRecord(
                key=f"k{minute}",
                enrollment_id="e",
                step="s",
                channel=channel,
                at=T0 + timedelta(minutes=minute),
                customer_id=cid,
            )
        )
    assert sql_store.count_deliveries(cid, "wechat_text", T0) == 2
    assert sql_store.count_deliveries(cid, "wechat_text", T0 + timedelta(seconds=30)) == 1
    assert sql_store.count_deliveries(cid, "sms", T0) == 1


def test_follows_and_consent_withdrawals(sql_store: SqlStore) -> None:
    cid = sql_store.resolve(Identities(phone="13800000003"), at=T0).customer_id
    sql_store.set_follows_wechat(cid, True)
    assert sql_store.get_customer(cid).follows_wechat
    sql_store.set_follows_wechat(cid, False)
    sql_store.withdraw_consent(cid, "marketing", "sms", "sms blacklist", T0)
    customer = sql_store.get_customer(cid)
    assert not customer.follows_wechat
    [consent] = customer.consents
    assert (consent.purpose, consent.channel, consent.granted) == ("marketing", "sms", False)
