"""Segment membership kept in the transaction of each change, equal to the evaluator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.models.journey import Segment
from engine.store.records import ConsentChange, Identities, NewEvent
from engine.store.sql import SqlStore
from rules.evaluate import evaluate

pytestmark = pytest.mark.db


def seg(sid: str, rule: dict[str, Any], refresh: str | None = None) -> Segment:
    return Segment.model_validate({"id": sid, "rule": rule, "refresh": refresh})


SEGMENTS = {
    s.id: s
    for s in [
        seg("viewers", {"event": "live.viewed", "count": {"gte": 2}}),
        seg("vip", {"tag": "vip"}),
        seg("not_vip", {"not": {"tag": "vip"}}),
        seg("myopic", {"attribute": "medical.myopia", "gte": 3}),
        seg("marketing_ok", {"consent": {"purpose": "marketing"}}),
        seg("engaged_vip", {"all": [{"segment": "vip"}, {"segment": "viewers"}]}),
        seg("recent_form", {"event": "form.submitted", "within": "7d"}, refresh="0 * * * *"),
    ]
}
RULES = {sid: s.rule for sid, s in SEGMENTS.items()}


def expected(store: SqlStore, customer_id: str) -> set[str]:
    """What the in-memory evaluator says, from the customer's whole profile."""
    view = store.get_customer(customer_id).view()
    now = datetime.now(UTC)
    return {sid for sid, rule in RULES.items() if evaluate(rule, view, now=now, segments=RULES)}


def track(store: SqlStore, phone: str, name: str, n: int, at: datetime | None = None) -> Any:
    at = at or datetime.now(UTC)
    event = NewEvent(message_id=f"{phone}-{name}-{n}", name=name, at=at)
    (stored,) = store.ingest([(Identities(phone=phone), event)], at=at, triggers=lambda _: False)
    return stored


@pytest.fixture
def store(sql_store: SqlStore) -> SqlStore:
    sql_store.deploy_segments(SEGMENTS, at=datetime.now(UTC))
    return sql_store


def test_events_enter_and_report_the_segments_they_changed(store: SqlStore) -> None:
    first = track(store, "13800000001", "live.viewed", 1)
    cid = first.customer_id
    # A new customer is evaluated whole: "not vip" holds at once.
    assert {c.segment_id for c in first.segments if c.entered} == {"not_vip"}
    second = track(store, "13800000001", "live.viewed", 2)
    assert [(c.segment_id, c.entered) for c in second.segments] == [("viewers", True)]
    assert store.customer_segments(cid) == expected(store, cid) == {"viewers", "not_vip"}
    # The changes wait in the outbox until dispatched.
    pending = store.pending_segment_changes(customer_ids=[cid])
    assert [(c.segment_id, c.entered) for c in pending][-1] == ("viewers", True)
    store.mark_segment_changes([c.id for c in pending], at=datetime.now(UTC))
    assert store.pending_segment_changes(customer_ids=[cid]) == []


def test_an_event_no_segment_reads_changes_nothing(store: SqlStore) -> None:
    cid = track(store, "13800000002", "page.viewed", 1).customer_id
    assert track(store, "13800000002", "page.viewed", 2).segments == []
    assert track(store, "13800000002", "page.viewed", 2).new is False
    assert store.customer_segments(cid) == expected(store, cid)


def test_tags_move_the_segments_that_read_them_and_those_that_refer_to_them(
    store: SqlStore,
) -> None:
    cid = track(store, "13800000003", "live.viewed", 1).customer_id
    track(store, "13800000003", "live.viewed", 2)
    store.tag(cid, ["vip"], [], "crm", at=datetime.now(UTC))
    assert store.customer_segments(cid) == expected(store, cid)
    assert {"vip", "engaged_vip"} <= store.customer_segments(cid)
    assert "not_vip" not in store.customer_segments(cid)
    store.tag(cid, [], ["vip"], "crm", at=datetime.now(UTC))
    assert store.customer_segments(cid) == expected(store, cid)
    assert "engaged_vip" not in store.customer_segments(cid)
    exits = [
        c.segment_id for c in store.pending_segment_changes(customer_ids=[cid]) if not c.entered
    ]
    assert sorted(exits) == ["engaged_vip", "not_vip", "vip"]


def test_attributes_from_identify_and_from_updates(store: SqlStore) -> None:
    now = datetime.now(UTC)
    cid = store.identify(Identities(phone="13800000004"), {"medical": {"myopia": 4}}, at=now)
    assert "myopic" in store.customer_segments(cid.customer_id)
    store.set_attributes(cid.customer_id, {"medical": {"myopia": 1}})
    assert "myopic" not in store.customer_segments(cid.customer_id)
    assert store.customer_segments(cid.customer_id) == expected(store, cid.customer_id)


def test_consent_given_and_withdrawn(store: SqlStore) -> None:
    cid = track(store, "13800000005", "page.viewed", 1).customer_id
    store.record_consent(
        cid, ConsentChange(purpose="marketing", granted=True, at=datetime.now(UTC))
    )
    assert "marketing_ok" in store.customer_segments(cid)
    store.withdraw_consent(cid, "marketing", None, "sms_reply", datetime.now(UTC))
    assert "marketing_ok" not in store.customer_segments(cid)
    assert store.customer_segments(cid) == expected(store, cid)


def test_a_merge_re_evaluates_the_survivor_with_both_histories(store: SqlStore) -> None:
    a = track(store, "13800000006", "live.viewed", 1).customer_id
    now = datetime.now(UTC)
    b = store.identify(Identities(wechat_openid="o-6"), {}, at=now).customer_id
    store.tag(b, ["vip"], [], "crm", at=now)
    event = NewEvent(message_id="o-6-live", name="live.viewed", at=now)
    store.ingest([(Identities(wechat_openid="o-6"), event)], at=now, triggers=lambda _: False)
    assert "viewers" not in store.customer_segments(a) | store.customer_segments(b)
    # One request names both: they are one person with two views of the live stream.
    merged = store.resolve(Identities(phone="13800000006", wechat_openid="o-6"), at=now)
    assert len(merged.merges) == 1
    survivor = merged.customer_id
    assert store.customer_segments(survivor) == expected(store, survivor)
    assert {"viewers", "vip", "engaged_vip"} <= store.customer_segments(survivor)
    assert "not_vip" not in store.customer_segments(survivor)
    gone = b if survivor == a else a
    assert all(gone not in store.segment_members(sid) for sid in SEGMENTS)


def test_deploy_computes_a_baseline_and_a_removed_segment_lets_its_members_go(
    sql_store: SqlStore,
) -> None:
    cid = track(sql_store, "13800000007", "live.viewed", 1).customer_id
    track(sql_store, "13800000007", "live.viewed", 2)
    now = datetime.now(UTC)
    result = sql_store.deploy_segments(SEGMENTS, at=now)
    assert sorted(result.added) == sorted(SEGMENTS)
    assert sql_store.customer_segments(cid) == expected(sql_store, cid)
    # The baseline is membership, not news: nothing waits to be dispatched.
    assert sql_store.pending_segment_changes(customer_ids=[cid]) == []
    again = sql_store.deploy_segments(SEGMENTS, at=now)
    assert sorted(again.unchanged) == sorted(SEGMENTS)
    fewer = {sid: s for sid, s in SEGMENTS.items() if sid != "viewers"}
    fewer["engaged_vip"] = seg("engaged_vip", {"tag": "vip"})
    third = sql_store.deploy_segments(fewer, at=now)
    assert third.removed == ["viewers"] and third.changed == ["engaged_vip"]
    assert "viewers" not in sql_store.customer_segments(cid)
    pending = sql_store.pending_segment_changes(customer_ids=[cid])
    assert [(c.segment_id, c.entered) for c in pending] == [("viewers", False)]


def test_a_refresh_lets_a_customer_whose_event_aged_out_go(store: SqlStore) -> None:
    now = datetime.now(UTC)
    old = track(store, "13800000008", "form.submitted", 1, at=now - timedelta(days=6))
    cid = old.customer_id
    assert "recent_form" in store.customer_segments(cid)
    assert store.refresh_segment("recent_form", now=now) == 0
    assert store.refresh_segment("recent_form", now=now + timedelta(days=2)) == 1
    assert "recent_form" not in store.customer_segments(cid)
    pending = store.pending_segment_changes(segment_id="recent_form")
    assert [(c.customer_id, c.entered) for c in pending][-1] == (cid, False)
