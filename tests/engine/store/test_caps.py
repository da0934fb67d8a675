"""Frequency caps in the SQL store: atomic reservations, idempotent by key."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from engine.store.records import CapCheck, Customer, SendSlot
from engine.store.sql import SqlStore

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DAY = CapCheck(channel="sms", per="day", limit=1, reason="1 marketing sms a day")
MONTH = CapCheck(channel=None, per="month", limit=2, reason="2 marketing messages a month")


def _slot(key: str, day: str = "2026-03-02", channel: str = "sms") -> SendSlot:
    return SendSlot(
        key=key,
        customer_id="c-1",
        purpose="marketing",
        channel=channel,
        day=day,
        month=day[:7],
        at=T0,
    )


@pytest.fixture
def store(sql_store: SqlStore) -> SqlStore:
    sql_store.put_customer(Customer(id="c-1"))
    return sql_store


def test_of_eight_sends_racing_for_the_last_slot_exactly_one_gets_it(store: SqlStore) -> None:
    assert store.reserve_send(_slot("k-0", day="2026-03-01"), [DAY, MONTH]) is None
    start = threading.Barrier(8)
    answers: list[str | None] = []
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            start.wait()
            answers.append(store.reserve_send(_slot(f"k-{i + 1}"), [DAY, MONTH]))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert answers.count(None) == 1
    assert set(answers) - {None} == {DAY.reason}


def test_a_held_key_is_not_counted_again_and_a_released_one_frees_the_slot(
    store: SqlStore,
) -> None:
    assert store.reserve_send(_slot("k-1"), [DAY]) is None
    assert store.reserve_send(_slot("k-1"), [DAY]) is None  # the retried activity
    assert store.reserve_send(_slot("k-2"), [DAY]) == DAY.reason
    store.release_send("k-1")
    assert store.reserve_send(_slot("k-2"), [DAY]) is None


def test_a_cap_on_any_channel_counts_every_channel(store: SqlStore) -> None:
    assert store.reserve_send(_slot("k-1", channel="sms"), [MONTH]) is None
    assert store.reserve_send(_slot("k-2", "2026-03-03", "wechat_subscribe"), [MONTH]) is None
    refused = store.reserve_send(_slot("k-3", "2026-03-04", "wecom"), [MONTH])
    assert refused == MONTH.reason
    assert store.reserve_send(_slot("k-4", "2026-04-01", "wecom"), [MONTH]) is None
