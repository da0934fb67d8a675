"""Customers in the SQL store: identity resolution, merges, events, tags and consents."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from engine.errors import NotFound
from engine.store.records import (
    ConsentChange,
    Customer,
    EnrollmentRecord,
    HandoffTask,
    Identities,
    NewEvent,
)
from engine.store.sql import SqlStore
from rules.view import ConsentRecord, EventRecord

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_an_identity_finds_the_customer_it_created(sql_store: SqlStore) -> None:
    first = sql_store.resolve(Identities(phone="138 0000 0001"), at=T0)
    again = sql_store.resolve(Identities(phone="+8613800000001"), at=at(1))
    assert first.created and not again.created
    assert again.customer_id == first.customer_id
    assert first.customer_id.startswith("c-")
    assert sql_store.list_identities(first.customer_id) == [("phone", "", "+8613800000001")]
    with pytest.raises(NotFound):
        sql_store.resolve(Identities(phone="13800000002"), create=False, at=T0)


def test_openids_of_different_apps_are_different_people(sql_store: SqlStore) -> None:
    ours = sql_store.resolve(Identities(wechat_openid="o-1"), at=T0)
    theirs = sql_store.resolve(Identities(wechat_openid="o-1", wechat_app_id="wx-2"), at=T0)
    assert ours.customer_id != theirs.customer_id
    assert sql_store.list_identities(theirs.customer_id) == [("wechat_openid", "wx-2", "o-1")]


def test_a_given_customer_id_is_used_and_found(sql_store: SqlStore) -> None:
    made = sql_store.resolve(Identities(customer_id="c-his-1", his_patient_id="H1"), at=T0)
    assert made.customer_id == "c-his-1" and made.created
    found = sql_store.resolve(Identities(customer_id="c-his-1"), at=at(1))
    assert found.customer_id == "c-his-1" and not found.created


def test_same_name_never_merges(sql_store: SqlStore) -> None:
    a = sql_store.identify(Identities(phone="13800000011"), {"name": "张三"}, at=T0)
    b = sql_store.identify(Identities(phone="13800000012"), {"name": "张三"}, at=T0)
    assert a.customer_id != b.customer_id
    assert sql_store.list_merges() == []


def _seed(store: SqlStore, identities: Identities, minute: int, n: int) -> str:
    """A customer with an attribute, an event, a tag, a consent, an enrollment, a task."""
    cid = store.identify(identities, {f"attr{n}": n, "name": f"name{n}"}, at=at(minute)).customer_id
    store.record_events(
        cid, [NewEvent(message_id=f"m{n}", name="visit", properties={"n": n}, at=at(minute))]
    )
    store.tag(cid, ["vip", f"only{n}"], [], f"src{n}", at=at(100 - minute))
    store.record_consent(
        cid, ConsentChange(purpose="marketing", granted=n % 2 == 1, at=at(minute + 1))
    )
    store.record_enrollment(
        EnrollmentRecord(
            id=f"e{n}", journey_id="j", version=1, customer_id=cid, started_at=at(minute)
        )
    )
    store.create_task(
        HandoffTask(
            id=f"T{n}",
            enrollment_id=f"e{n}",
            customer_id=cid,
            journey_id="j",
            step="call",
            queue="nurses",
            created_at=at(minute),
        )
    )
    return cid


def test_three_customers_named_by_one_request_merge_into_the_earliest(
    sql_store: SqlStore,
) -> None:
    c1 = _seed(sql_store, Identities(phone="13800000021"), 0, 1)
    c2 = _seed(sql_store, Identities(wechat_openid="o-21"), 10, 2)
    c3 = _seed(sql_store, Identities(his_patient_id="H-21"), 20, 3)

    result = sql_store.resolve(
        Identities(his_patient_id="H-21", wechat_openid="o-21", phone="13800000021"), at=at(30)
    )

    assert result.customer_id == c1 and not result.created
    assert [(m.survivor_id, m.merged_id) for m in result.merges] == [(c1, c2), (c1, c3)]
    assert "wechat_openid=o-21" in result.merges[0].reason
    assert [m.merged_id for m in sql_store.list_merges(c1)] == [c2, c3]
    assert [m.survivor_id for m in sql_store.list_merges(c3)] == [c1]

    merged = sql_store.get_customer(c3)
    assert merged.id == c1
    assert merged.identities == {
        "phone": "+8613800000021",
        "wechat_openid": "o-21",
        "his_patient_id": "H-21",
    }
    assert [e.properties["n"] for e in merged.events] == [1, 2, 3]
    # The earliest setting of a shared tag is kept: customer 3 tagged vip first.
    assert merged.tags == {"vip": "src3", "only1": "src1", "only2": "src2", "only3": "src3"}
    assert [(c.granted, c.at) for c in merged.consents] == [
        (True, at(1)),
        (False, at(11)),
        (True, at(21)),
    ]
    assert merged.attributes == {"name": "name1", "attr1": 1, "attr2": 2, "attr3": 3}
    assert {e.id for e in sql_store.list_enrollments(customer_id=c1)} == {"e1", "e2", "e3"}
    assert sql_store.list_enrollments(customer_id=c2) == []
    assert {sql_store.get_task(t).customer_id for t in ("T1", "T2", "T3")} == {c1}

    # Later writes through a merged id land on the survivor.
    sql_store.tag(c2, ["after-merge"], [], "api", at=at(40))
    assert "after-merge" in sql_store.get_customer(c1).tags
    # A merged customer's identity now resolves straight to the survivor.
    again = sql_store.resolve(Identities(wechat_openid="o-21"), at=at(50))
    assert again.customer_id == c1 and again.merges == []


def test_concurrent_resolves_of_a_new_phone_create_one_customer(sql_store: SqlStore) -> None:
    start = threading.Barrier(8)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            r = sql_store.resolve(Identities(phone="13800000031"), at=T0)
            results.append((r.customer_id, r.created))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({cid for cid, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_a_repeated_message_id_is_stored_once(sql_store: SqlStore) -> None:
    cid = sql_store.resolve(Identities(phone="13800000041"), at=T0).customer_id
    event = NewEvent(message_id="msg-1", name="form.submitted", properties={"a": 1}, at=at(1))
    first = sql_store.record_events(cid, [event, event])
    second = sql_store.record_events(cid, [event])
    assert [e.new for e in first + second] == [True, False, False]
    assert [e.message_id for e in sql_store.list_events(cid)] == ["msg-1"]
    assert len(sql_store.get_customer(cid).events) == 1


def test_tags_report_real_changes_only(sql_store: SqlStore) -> None:
    cid = sql_store.resolve(Identities(phone="13800000051"), at=T0).customer_id
    added = sql_store.tag(cid, ["a", "b"], [], "api", at=T0)
    assert [(c.tag, c.added) for c in added] == [("a", True), ("b", True)]
    assert sql_store.tag(cid, ["a"], ["zzz"], "api", at=T0) == []
    assert sql_store.change_tags(cid, ["c"], ["a"], "journey:j/s") == ["+c", "-a"]
    assert sql_store.get_customer(cid).tags == {"b": "api", "c": "journey:j/s"}


def test_added_tags_wait_for_their_triggers_until_marked(sql_store: SqlStore) -> None:
    cid = sql_store.resolve(Identities(phone="13800000052"), at=T0).customer_id
    (vip,) = sql_store.tag(cid, ["VIP"], [], "api", at=T0)
    (gone,) = sql_store.tag(cid, [], ["VIP"], "api", at=at(1))
    assert vip.history_id is not None and gone.history_id is not None
    assert sql_store.undispatched_tags(T0) == []  # only what was added before `before`
    [pending] = sql_store.undispatched_tags(at(5))
    assert (pending.tag, pending.added, pending.history_id) == ("VIP", True, vip.history_id)
    # Merged away since: the pending tag speaks of the survivor.
    older = sql_store.resolve(Identities(wechat_openid="o-52"), at=T0 - timedelta(days=1))
    survivor = sql_store.resolve(
        Identities(phone="13800000052", wechat_openid="o-52"), at=at(2)
    ).customer_id
    assert survivor == older.customer_id != cid
    assert [c.customer_id for c in sql_store.undispatched_tags(at(5))] == [survivor]
    sql_store.mark_tags_dispatched([vip.history_id], at=at(3))
    assert sql_store.undispatched_tags(at(5)) == []


def test_a_profile_reads_back_whole_with_aware_utc_times(sql_store: SqlStore) -> None:
    local = datetime.fromisoformat("2026-03-01T10:00:00+08:00")
    customer = Customer(
        id="c-put",
        attributes={"name": "李四", "clinic_id": "sz-01"},
        identities={"wechat_openid": "o-p", "wecom_owner_userid": "staff-1"},
        tags={"vip": "import"},
        follows_wechat=True,
        consents=[ConsentRecord(purpose="service", granted=True, at=local)],
        events=[EventRecord(name="visit", properties={"x": [1, 2]}, at=local)],
        source={"channel": "wechat", "utm_source": "qr"},
        timezone="Asia/Shanghai",
    )
    sql_store.put_customer(customer)
    sql_store.put_customer(customer)  # writing it again duplicates nothing
    stored = sql_store.get_customer("c-put")
    assert stored == customer
    assert stored.events[0].at.tzinfo == UTC and stored.events[0].at == local
    assert sql_store.set_attributes("c-put", {"name": "李四", "level": 2}) == ["level"]
    with pytest.raises(NotFound):
        sql_store.get_customer("c-nobody")
