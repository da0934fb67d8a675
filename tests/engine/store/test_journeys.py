"""Journey versions, enrollments and traces in the SQL store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.contracts.journey import TraceEntry
from engine.errors import NotFound
from engine.models.workspace import JourneyBundle
from engine.store.records import EnrollmentRecord, Identities
from engine.store.sql import SqlStore
from engine.workspace.loader import load_workspace

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).parents[3] / "examples" / "eye-clinic"


@pytest.fixture(scope="module")
def bundle() -> JourneyBundle:
    """A real journey (a branch with ``else``, messages) as the service would deploy it."""
    return load_workspace(EXAMPLES).bundle("payment_recovery")


def test_deploy_stores_a_version_per_distinct_content(
    sql_store: SqlStore, bundle: JourneyBundle
) -> None:
    v1 = sql_store.deploy(bundle, at=T0)
    same = sql_store.deploy(bundle.model_copy(update={"version": 7}), at=T0 + timedelta(hours=1))
    assert (v1.version, same.version) == (1, 1)
    assert same == v1

    changed = bundle.model_copy(update={"timezone": "Asia/Urumqi"})
    v2 = sql_store.deploy(changed, at=T0 + timedelta(hours=2))
    assert v2.version == 2 and v2.checksum != v1.checksum

    assert sql_store.get_bundle(bundle.journey.id, 1) == bundle
    assert sql_store.current_bundle(bundle.journey.id) == changed.model_copy(update={"version": 2})
    assert [b.version for b in sql_store.deployed_bundles()] == [2]
    [info] = sql_store.list_journeys()
    assert (info.journey_id, info.name, info.current_version, info.paused) == (
        "payment_recovery",
        bundle.journey.name,
        2,
        False,
    )
    assert [(v.version, v.deployed_at) for v in info.versions] == [
        (1, T0),
        (2, T0 + timedelta(hours=2)),
    ]
    sql_store.set_paused(bundle.journey.id, True)
    assert sql_store.list_journeys()[0].paused
    # Going back to the first content is a new version, not a rewrite of history.
    assert sql_store.deploy(bundle, at=T0 + timedelta(hours=3)).version == 3
    with pytest.raises(NotFound):
        sql_store.get_bundle(bundle.journey.id, 9)
    with pytest.raises(NotFound):
        sql_store.set_paused("nope", True)


def test_put_bundle_keeps_the_bundle_version(sql_store: SqlStore, bundle: JourneyBundle) -> None:
    sql_store.put_bundle(bundle.model_copy(update={"version": 4}))
    sql_store.put_bundle(bundle.model_copy(update={"version": 4, "timezone": "UTC"}))
    assert sql_store.get_bundle(bundle.journey.id, 4).timezone == bundle.timezone
    assert sql_store.current_bundle(bundle.journey.id).version == 4


def _enroll(store: SqlStore, eid: str, journey: str = "j", key: str | None = None) -> None:
    store.record_enrollment(
        EnrollmentRecord(
            id=eid, journey_id=journey, version=1, customer_id="c-1", key=key, started_at=T0
        )
    )


def test_enrollments_are_recorded_once_and_finished(sql_store: SqlStore) -> None:
    _enroll(sql_store, "e1", key="A-1")
    _enroll(sql_store, "e1", key="changed")  # a retried start changes nothing
    _enroll(sql_store, "e2", journey="other")
    assert sql_store.get_enrollment("e1").key == "A-1"
    assert sql_store.ever_enrolled("j", "c-1", "A-1")
    assert not sql_store.ever_enrolled("j", "c-1", None)
    assert not sql_store.ever_enrolled("j", "c-1", "A-2")

    sql_store.finish_enrollment("e1", "exited", "cancelled", "B", T0 + timedelta(days=1))
    done = sql_store.get_enrollment("e1")
    assert (done.status, done.exit_reason, done.variant) == ("exited", "cancelled", "B")
    assert done.ended_at == T0 + timedelta(days=1) and done.started_at.tzinfo == UTC
    assert [e.id for e in sql_store.list_enrollments(status="running")] == ["e2"]
    assert [e.id for e in sql_store.list_enrollments(customer_id="c-1", journey_id="j")] == ["e1"]
    with pytest.raises(NotFound):
        sql_store.finish_enrollment("e9", "completed", None, None, T0)
    with pytest.raises(NotFound):
        sql_store.get_enrollment("e9")


def _entry(seq: int, step: str | None, kind: str, **fields: str) -> TraceEntry:
    return TraceEntry(seq=seq, at=T0 + timedelta(minutes=seq), step=step, kind=kind, **fields)


def test_a_retried_trace_append_keeps_each_entry_once(sql_store: SqlStore) -> None:
    first = [
        _entry(1, None, "enrolled"),
        _entry(2, "remind", "attempt", channel="sms", outcome="sent", detail="ok"),
    ]
    sql_store.append_trace("e1", first)
    sql_store.append_trace("e1", [*first, _entry(3, "remind", "send", outcome="delivered")])
    sql_store.append_trace("e1", [])
    trace = sql_store.get_trace("e1")
    assert trace == [*first, _entry(3, "remind", "send", outcome="delivered")]
    assert trace[1].public() == {
        "at": "2026-03-01T02:02:00Z",
        "step": "remind",
        "kind": "attempt",
        "channel": "sms",
        "outcome": "sent",
        "detail": "ok",
    }


def test_step_counts_count_trace_entries_per_step_and_kind(sql_store: SqlStore) -> None:
    _enroll(sql_store, "e1")
    _enroll(sql_store, "e2")
    _enroll(sql_store, "e3", journey="other")
    for eid in ("e1", "e2", "e3"):
        sql_store.append_trace(
            eid,
            [
                _entry(1, None, "enrolled"),
                _entry(2, "remind", "attempt"),
                _entry(3, "remind", "attempt"),
                _entry(4, "remind", "send"),
                _entry(5, "call", "handoff"),
            ],
        )
    assert sql_store.step_counts("j") == {
        "remind": {"attempt": 4, "send": 2},
        "call": {"handoff": 2},
    }
    assert sql_store.step_counts("nobody") == {}


def test_a_journeys_enrollments_filter_by_status_step_variant_entry_and_clinic(
    sql_store: SqlStore,
) -> None:
    def customer(phone: str, clinic: str) -> str:
        found = sql_store.identify(Identities(phone=phone), {"clinic_id": clinic}, at=T0)
        return found.customer_id

    sz, bj = customer("13800000031", "sz-01"), customer("13800000032", "bj-01")
    for n, (cid, hours) in enumerate([(sz, 0), (sz, 1), (bj, 2), (sz, 3)], start=1):
        sql_store.record_enrollment(
            EnrollmentRecord(
                id=f"e{n}",
                journey_id="j",
                version=1,
                customer_id=cid,
                started_at=T0 + timedelta(hours=hours),
            )
        )
    sql_store.record_enrollment(
        EnrollmentRecord(id="x1", journey_id="other", version=1, customer_id=sz, started_at=T0)
    )
    sql_store.append_trace("e1", [TraceEntry(seq=1, at=T0, step="welcome", kind="tag")])
    sql_store.finish_enrollment(
        "e1",
        "completed",
        "done",
        None,
        T0 + timedelta(days=1),
        [TraceEntry(seq=2, at=T0, step="end", kind="exit", reason="done")],
    )
    sql_store.append_trace("e2", [TraceEntry(seq=1, at=T0, step="welcome", kind="tag")])
    sql_store.finish_enrollment("e2", "exited", "holdout", "holdout", T0 + timedelta(hours=2))
    sql_store.append_trace("e4", [TraceEntry(seq=1, at=T0, step="welcome", kind="tag")])

    def ids(**filters: Any) -> list[tuple[str, str | None]]:
        return [(r.id, step) for r, step in sql_store.journey_enrollments("j", **filters)]

    # newest first, each with the step of its last stored entry
    assert ids() == [("e4", "welcome"), ("e3", None), ("e2", "welcome"), ("e1", "end")]
    assert ids(status="running") == [("e4", "welcome"), ("e3", None)]
    assert ids(variant="holdout") == [("e2", "welcome")]
    assert ids(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=3)) == [
        ("e3", None),
        ("e2", "welcome"),
    ]
    assert ids(clinics=["sz-01"]) == [("e4", "welcome"), ("e2", "welcome"), ("e1", "end")]
    assert ids(clinics=[]) == []
    # where Temporal says a running enrollment is wins over its last stored entry
    running = {"e4": "wait", "e3": "welcome"}
    assert ids(step="welcome", running_at=running) == [("e3", "welcome"), ("e2", "welcome")]
    assert ids(step="wait", running_at=running) == [("e4", "wait")]
    assert ids(step="end") == [("e1", "end")]
    assert ids(offset=1, limit=2) == [("e3", None), ("e2", "welcome")]
