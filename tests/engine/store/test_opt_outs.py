"""The latest consent withdrawals across customers: newest first, grants left out,
at most the limit, each under the live customer after a merge, with its name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.store.records import ConsentChange, Identities
from engine.store.sql import SqlStore

pytestmark = pytest.mark.db

T0 = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _customer(
    store: SqlStore, identities: Identities, name: str, clinic: str, minutes: int = 0
) -> str:
    result = store.identify(identities, {"name": name, "clinic_id": clinic}, at=at(minutes))
    return result.customer_id


def _consent(
    store: SqlStore, customer_id: str, minutes: int, *, granted: bool, channel: str | None
) -> None:
    change = ConsentChange(
        purpose="marketing", channel=channel, granted=granted, source="reply:TD", at=at(minutes)
    )
    store.record_consent(customer_id, change)


def test_withdrawals_come_newest_first_without_grants(sql_store: SqlStore) -> None:
    ana = _customer(sql_store, Identities(phone="13800001001"), "安娜", "c01")
    bo = _customer(sql_store, Identities(phone="13800001002"), "박보", "c02")
    _consent(sql_store, ana, 1, granted=True, channel="sms")
    _consent(sql_store, ana, 5, granted=False, channel="sms")
    _consent(sql_store, bo, 3, granted=False, channel=None)
    sql_store.withdraw_consent(bo, "marketing", "wecom", "api", at(9))
    _consent(sql_store, ana, 12, granted=True, channel="wechat_template")

    found = sql_store.recent_opt_outs()
    assert [(o.customer_id, o.channel, o.at) for o in found] == [
        (bo, "wecom", at(9)),
        (ana, "sms", at(5)),
        (bo, None, at(3)),
    ]
    assert (found[1].name, found[1].clinic_id, found[1].purpose, found[1].source) == (
        "安娜",
        "c01",
        "marketing",
        "reply:TD",
    )
    assert [o.at for o in sql_store.recent_opt_outs(limit=2)] == [at(9), at(5)]
    assert sql_store.recent_opt_outs(limit=0) == []


def test_a_merged_customers_withdrawal_shows_once_under_the_survivor(
    sql_store: SqlStore,
) -> None:
    first = _customer(sql_store, Identities(phone="13800001011"), "陈一", "c01")
    # the earlier customer survives the merge
    second = _customer(sql_store, Identities(wechat_openid="o-1011"), "陈一微信", "c01", 2)
    _consent(sql_store, second, 4, granted=False, channel="wechat_template")
    merged = sql_store.resolve(Identities(phone="13800001011", wechat_openid="o-1011"), at=at(6))
    assert merged.customer_id == first and merged.merges

    (opt_out,) = sql_store.recent_opt_outs()
    assert (opt_out.customer_id, opt_out.channel, opt_out.at) == (
        first,
        "wechat_template",
        at(4),
    )
    assert opt_out.name == "陈一"
