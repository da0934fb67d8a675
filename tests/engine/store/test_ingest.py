"""Ingest in one transaction: resolve, store, and mark what nobody needs to hear of."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from engine.errors import NotFound
from engine.store.records import EnrollmentRecord, Identities, IngestGroup, NewEvent
from engine.store.sql import SqlStore
from engine.store.sql.tables import EventRow
from engine.workspace.loader import load_workspace

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).parents[3] / "examples" / "eye-clinic"


def event(message_id: str, name: str = "page.viewed", minute: int = 0) -> NewEvent:
    return NewEvent(message_id=message_id, name=name, at=T0 + timedelta(minutes=minute))


def nobody(_: NewEvent) -> bool:
    return False


def test_an_event_nobody_wants_is_stored_already_dispatched(sql_store: SqlStore) -> None:
    (stored,) = sql_store.ingest(
        [(Identities(phone="13800000001"), event("m1"))], at=T0, triggers=nobody
    )
    assert stored.new and stored.dispatched and stored.running == []
    # The sweep has nothing to redo for it.
    assert sql_store.undispatched_events(T0 + timedelta(hours=1)) == []
    assert [e.message_id for e in sql_store.list_events(stored.customer_id)] == ["m1"]


def test_a_trigger_or_a_running_enrollment_leaves_the_event_to_the_dispatcher(
    sql_store: SqlStore,
) -> None:
    phone = Identities(phone="13800000002")
    (hot,) = sql_store.ingest(
        [(phone, event("m1", "booking.cancelled"))],
        at=T0,
        triggers=lambda e: e.name == "booking.cancelled",
    )
    assert not hot.dispatched
    sql_store.record_enrollment(
        EnrollmentRecord(
            id="e1", journey_id="j", version=1, customer_id=hot.customer_id, started_at=T0
        )
    )
    (cold,) = sql_store.ingest([(phone, event("m2"))], at=T0, triggers=nobody)
    assert not cold.dispatched and cold.running == ["e1"]
    pending = sql_store.undispatched_events(T0 + timedelta(hours=1))
    assert [e.message_id for e in pending] == ["m1", "m2"]


def test_a_repeated_message_id_comes_back_as_stored(sql_store: SqlStore) -> None:
    phone = Identities(phone="13800000003")
    (first,) = sql_store.ingest([(phone, event("m1"))], at=T0, triggers=nobody)
    (again,) = sql_store.ingest([(phone, event("m1", minute=5))], at=T0, triggers=nobody)
    assert first.new and not again.new and again.dispatched
    assert again.at == first.at  # the stored event, not the repeat
    assert len(sql_store.list_events(first.customer_id)) == 1


def test_a_batch_resolves_each_event_after_the_merges_before_it(sql_store: SqlStore) -> None:
    a = sql_store.resolve(Identities(phone="13800000004"), at=T0).customer_id
    b = sql_store.resolve(Identities(wechat_openid="o-4"), at=T0 + timedelta(minutes=1)).customer_id
    stored = sql_store.ingest(
        [
            (Identities(phone="13800000004", wechat_openid="o-4"), event("m1")),  # merges b into a
            (Identities(wechat_openid="o-4"), event("m2")),
        ],
        at=T0,
        triggers=nobody,
    )
    assert [s.customer_id for s in stored] == [a, a]
    assert {e.message_id for e in sql_store.list_events(b)} == {"m1", "m2"}  # b follows to a


def test_concurrent_ingest_of_one_new_phone_makes_one_customer(sql_store: SqlStore) -> None:
    ids: list[str] = []

    def one(n: int) -> None:
        (s,) = sql_store.ingest(
            [(Identities(phone="13800000005"), event(f"c{n}"))], at=T0, triggers=nobody
        )
        ids.append(s.customer_id)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 16
    assert len(sql_store.list_events(ids[0])) == 16


def test_a_bundle_version_is_read_once(sql_store: SqlStore) -> None:
    info = sql_store.deploy(load_workspace(EXAMPLES).bundle("payment_recovery"), at=T0)
    first = sql_store.get_bundle(info.journey_id, info.version)
    assert sql_store.get_bundle(info.journey_id, info.version) is first
    assert sql_store.deployment() == [(info.journey_id, info.version, False)]
    sql_store.set_paused(info.journey_id, True)
    assert sql_store.deployment() == [(info.journey_id, info.version, True)]


def test_groups_are_stored_in_one_transaction_each_under_its_own_time(
    sql_store: SqlStore,
) -> None:
    later = T0 + timedelta(seconds=3)
    first, second = sql_store.ingest_groups(
        [
            IngestGroup(items=[(Identities(phone="13800000006"), event("g1"))], at=T0),
            IngestGroup(
                items=[
                    (Identities(phone="13800000007"), event("g2")),
                    (Identities(phone="13800000006"), event("g3")),
                ],
                at=later,
            ),
        ],
        triggers=nobody,
    )
    assert [s.message_id for s in first] == ["g1"]
    assert [s.message_id for s in second] == ["g2", "g3"]
    assert second[1].customer_id == first[0].customer_id != second[0].customer_id
    assert all(s.new and s.dispatched for s in first + second)
    with sql_store._db.read() as s:
        received = dict(s.execute(select(EventRow.message_id, EventRow.received_at)).all())
    assert received == {"g1": T0, "g2": later, "g3": later}


def test_a_failing_group_leaves_nothing_of_the_groups_written_with_it(
    sql_store: SqlStore,
) -> None:
    groups = [
        IngestGroup(items=[(Identities(phone="13800000008"), event("h1"))], at=T0),
        IngestGroup(items=[(Identities(), event("h2"))], at=T0),  # names nobody
    ]
    with pytest.raises(ValueError, match="give at least one identity"):
        sql_store.ingest_groups(groups, triggers=nobody)
    with pytest.raises(NotFound):  # not even the first group's new customer
        sql_store.resolve(Identities(phone="13800000008"), create=False, at=T0)
    (alone,) = sql_store.ingest_groups(groups[:1], triggers=nobody)
    assert [s.message_id for s in alone] == ["h1"] and alone[0].new


def test_only_the_databases_own_failures_are_shared(sql_store: SqlStore) -> None:
    locked = OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
    clash = IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))
    assert sql_store.shared_failure(locked)
    assert not sql_store.shared_failure(clash)  # a race of one request's rows
    assert not sql_store.shared_failure(ValueError("give at least one identity"))
