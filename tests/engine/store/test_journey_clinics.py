"""A journey's metrics for some clinics: the clinic filter reads ``ix_customers_clinic``
and counts the very enrollments that ``attributes["clinic_id"].as_string()`` names,
whatever the attribute holds (SQLite, and PostgreSQL with CAREPATH_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Select, func, select, text, update

from engine.contracts.journey import TraceEntry
from engine.store.metrics import Cohort, StatusCount
from engine.store.records import EnrollmentRecord, HandoffTask
from engine.store.sql import SqlStore
from engine.store.sql.journey_figures import Figures
from engine.store.sql.journey_metrics import _add_traced, cohort_ids
from engine.store.sql.tables import CustomerRow, EnrollmentRow, TaskRow

pytestmark = pytest.mark.db

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=3)
#: What a customer's clinic_id attribute may hold (``...``: no such attribute).
HELD: tuple[Any, ...] = ("sz-01", "bj-01", "7", 7, "", None, True, ...)
ASKED = ("sz-01", "bj-01", "7", "1", "true", "")
ENDS = ("running", "completed", "converted", "exited")


def _customer(store: SqlStore, clinic: Any) -> str:
    cid = f"c-{uuid.uuid4().hex[:12]}"
    attributes = {} if clinic is ... else {"clinic_id": clinic}
    with store._db.write() as s, s.begin():
        s.add(CustomerRow(id=cid, attributes=attributes, created_at=T0))
    return cid


def _trace(draw: st.DrawFn) -> list[TraceEntry]:
    """A visit of a send step (an attempt, perhaps a fallback) and perhaps a split."""
    at = T0 + dt.timedelta(minutes=1)
    found = [TraceEntry(seq=1, at=at, step="remind", kind="send")]
    for channel in draw(st.lists(st.sampled_from(("sms", "wechat_template")), max_size=2)):
        outcome = draw(st.sampled_from(("delivered", "failed", "skipped", "deferred")))
        found.append(
            TraceEntry(
                seq=len(found) + 1,
                at=at,
                step="remind",
                kind="attempt",
                channel=channel,
                outcome=outcome,
                detail=draw(st.sampled_from(("no wechat_openid", "frequency cap", None))),
            )
        )
    if draw(st.booleans()):
        variant = draw(st.sampled_from(("a", "b")))
        found.append(
            TraceEntry(seq=len(found) + 1, at=at, step="ab", kind="split", variant=variant)
        )
    return found


def _enroll(store: SqlStore, draw: st.DrawFn, journey: str, customer: str) -> None:
    enrollment = f"{journey}:{uuid.uuid4().hex[:8]}"
    started = T0 + dt.timedelta(hours=draw(st.integers(0, 40)))
    store.record_enrollment(
        EnrollmentRecord(
            id=enrollment, journey_id=journey, version=1, customer_id=customer, started_at=started
        )
    )
    trace = _trace(draw)
    end = draw(st.sampled_from(ENDS))
    if end == "running":
        store.append_trace(enrollment, trace)
    else:
        store.finish_enrollment(enrollment, end, None, None, NOW, trace)  # type: ignore[arg-type]


def _as_written(cohort: Cohort) -> Select[tuple[str]]:
    """The cohort's enrollment ids with the clinic as SQLAlchemy writes the attribute."""
    assert cohort.clinics is not None
    clinic = CustomerRow.attributes["clinic_id"].as_string()
    allowed = select(CustomerRow.id).where(clinic.in_(list(cohort.clinics)))
    stmt = select(EnrollmentRow.id).where(
        EnrollmentRow.journey_id == cohort.journey_id, EnrollmentRow.customer_id.in_(allowed)
    )
    if cohort.since is not None:
        stmt = stmt.where(EnrollmentRow.started_at >= cohort.since)
    return stmt


def _statuses(store: SqlStore, ids: Select[tuple[str]]) -> list[tuple[str, str | None, int]]:
    stmt = (
        select(EnrollmentRow.status, EnrollmentRow.exit_reason, func.count())
        .where(EnrollmentRow.id.in_(ids))
        .group_by(EnrollmentRow.status, EnrollmentRow.exit_reason)
    )
    with store._analytic_read() as s:
        return sorted((st_, why, n) for st_, why, n in s.execute(stmt))


def _sorted(found: list[StatusCount]) -> list[tuple[str, str | None, int]]:
    return sorted((c.status, c.reason, c.count) for c in found)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_clinic_cohort_counts_the_enrollments_its_attribute_names(
    sql_store: SqlStore, data: st.DataObject
) -> None:
    journey = f"j-{uuid.uuid4().hex[:10]}"
    for clinic in data.draw(st.lists(st.sampled_from(HELD), min_size=1, max_size=6)):
        customer = _customer(sql_store, clinic)
        for _ in range(data.draw(st.integers(0, 2))):
            _enroll(sql_store, data.draw, journey, customer)
    for _ in range(3):
        clinics = tuple(data.draw(st.lists(st.sampled_from(ASKED), max_size=3, unique=True)))
        since = data.draw(st.sampled_from((None, T0 + dt.timedelta(hours=20))))
        cohort = Cohort(journey_id=journey, since=since, clinics=clinics)
        want = Figures()
        with sql_store._analytic_read() as s:
            assert set(s.scalars(cohort_ids(cohort))) == set(s.scalars(_as_written(cohort)))
            _add_traced(s, _as_written(cohort), want)
        got = sql_store.journey_counts(cohort, NOW, {})
        assert _sorted(got.statuses) == _statuses(sql_store, _as_written(cohort))
        assert {k: v.model_dump() for k, v in got.steps.items()} == {
            k: v.model_dump() for k, v in want.steps.items()
        }
        assert {k: [a.model_dump() for a in v] for k, v in got.arms.items()} == {
            k: [a.model_dump() for a in v] for k, v in want.arms().items()
        }


def test_a_clinic_without_enrollments_in_the_journey_counts_nothing(sql_store: SqlStore) -> None:
    sz, bj = _customer(sql_store, "sz-01"), _customer(sql_store, "bj-01")
    for n, customer in enumerate((sz, bj)):
        sql_store.record_enrollment(
            EnrollmentRecord(
                id=f"e{n}", journey_id="j", version=1, customer_id=customer, started_at=T0
            )
        )
        sql_store.append_trace(f"e{n}", [TraceEntry(seq=1, at=T0, step="remind", kind="send")])
    running = {"e0": "wait", "e1": "wait"}
    everyone = sql_store.journey_counts(Cohort(journey_id="j"), NOW, running)
    assert everyone.steps["wait"].waiting_now == 2
    assert everyone.steps["remind"].reached == 2
    sz_only = sql_store.journey_counts(Cohort(journey_id="j", clinics=("sz-01",)), NOW, running)
    assert (sz_only.steps["wait"].waiting_now, sz_only.steps["remind"].reached) == (1, 1)
    assert sql_store.waiting_steps(Cohort(journey_id="j", clinics=("sz-01",)), running) == ["wait"]
    assert sorted(sql_store.waiting_steps(Cohort(journey_id="j"), running)) == ["wait", "wait"]
    elsewhere = sql_store.journey_counts(Cohort(journey_id="j", clinics=("gz-01",)), NOW, running)
    assert (elsewhere.statuses, elsewhere.steps, elsewhere.arms) == ([], {}, {})


@pytest.mark.parametrize(
    ("clinics", "index"),
    [
        # Kept clinics: the enrollments' own, no customer read (SQLite: by the clinic's
        # index; PostgreSQL's plan for an empty table may take the journey's instead).
        (("sz-01", "bj-01"), "ix_enrollments_clinic_journey"),
        (("sz-01", ""), "ix_customers_clinic"),  # "" is not kept apart: the customers'
    ],
)
def test_the_clinic_filter_reads_an_index(
    sql_store: SqlStore, clinics: tuple[str, ...], index: str
) -> None:
    stmt = cohort_ids(Cohort(journey_id="j", clinics=clinics))
    engine = sql_store._db.engine
    sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        else:
            # An empty table is read whole whatever its indexes: ask for the index.
            conn.execute(text("SET enable_seqscan = off"))
            plan = " ".join(str(row[0]) for row in conn.execute(text(f"EXPLAIN {sql}")))
    if index == "ix_customers_clinic":
        assert index in plan
    else:
        assert "customers" not in plan
        assert index in plan or engine.dialect.name != "sqlite", plan


def test_handoff_figures_count_the_tasks_of_the_cohort_only(sql_store: SqlStore) -> None:
    """Tasks of other versions, other clinics and earlier entrants are left out of a
    filtered cohort's handoffs; the whole journey counts them all."""
    sz, bj = _customer(sql_store, "sz-01"), _customer(sql_store, "bj-01")
    due = NOW - dt.timedelta(hours=1)  # overdue while open
    cases = [  # (enrollment, version, customer, started, status, outcome)
        ("v1-sz", 1, sz, T0, "open", None),
        ("v1-bj", 1, bj, T0, "done", "booked"),
        ("v2-sz", 2, sz, T0 + dt.timedelta(hours=30), "escalated", None),
        ("v2-bj", 2, bj, T0 + dt.timedelta(hours=30), "done", "no_answer"),
    ]
    for enrollment, version, customer, started, status, outcome in cases:
        sql_store.record_enrollment(
            EnrollmentRecord(
                id=enrollment,
                journey_id="j",
                version=version,
                customer_id=customer,
                started_at=started,
            )
        )
        task = sql_store.create_task(
            HandoffTask(
                id=f"t-{enrollment}",
                enrollment_id=enrollment,
                customer_id=customer,
                journey_id="j",
                step="call",
                queue="q",
                created_at=started,
                due_at=due,
            )
        )
        if status != "open":
            with sql_store._db.write() as s, s.begin():
                s.execute(
                    update(TaskRow)
                    .where(TaskRow.id == task.id)
                    .values(status=status, outcome=outcome)
                )

    def handoffs(cohort: Cohort) -> tuple[int, int, int, dict[str, int]]:
        found = sql_store.journey_counts(cohort, NOW, {}).steps.get("call")
        if found is None:
            return 0, 0, 0, {}
        h = found.handoffs
        return h.created, h.overdue_now, h.escalated, dict(h.done)

    assert handoffs(Cohort(journey_id="j")) == (4, 2, 1, {"booked": 1, "no_answer": 1})
    assert handoffs(Cohort(journey_id="j", version=1)) == (2, 1, 0, {"booked": 1})
    assert handoffs(Cohort(journey_id="j", version=2)) == (2, 1, 1, {"no_answer": 1})
    assert handoffs(Cohort(journey_id="j", clinics=("sz-01",))) == (2, 2, 1, {})
    since = T0 + dt.timedelta(hours=20)
    assert handoffs(Cohort(journey_id="j", since=since, clinics=("bj-01",))) == (
        1,
        0,
        0,
        {"no_answer": 1},
    )
    assert handoffs(Cohort(journey_id="j", version=3)) == (0, 0, 0, {})


def test_a_version_every_enrollment_has_reads_like_the_whole_journey(
    sql_store: SqlStore,
) -> None:
    """A journey deployed once: its current version's figures are the journey's (read
    without the version filter); once another version has an enrollment, the filter
    counts again."""
    customers = [_customer(sql_store, "sz-01") for _ in range(3)]
    for i, customer in enumerate(customers):
        sql_store.record_enrollment(
            EnrollmentRecord(
                id=f"e{i}", journey_id="j", version=1, customer_id=customer, started_at=T0
            )
        )
        sql_store.create_task(
            HandoffTask(
                id=f"t{i}",
                enrollment_id=f"e{i}",
                customer_id=customer,
                journey_id="j",
                step="call",
                queue="q",
                created_at=T0,
                due_at=T0,
            )
        )
    running = {"e0": "call", "e1": "call"}
    whole = sql_store.journey_counts(Cohort(journey_id="j"), NOW, running)
    first = sql_store.journey_counts(Cohort(journey_id="j", version=1), NOW, running)
    assert first == whole
    assert first.steps["call"].handoffs.created == 3 and first.steps["call"].waiting_now == 2

    sql_store.record_enrollment(
        EnrollmentRecord(
            id="e9", journey_id="j", version=2, customer_id=customers[0], started_at=NOW
        )
    )
    running["e9"] = "call"
    again = sql_store.journey_counts(Cohort(journey_id="j", version=1), NOW, running)
    assert again.steps["call"].waiting_now == 2
    assert sum(c.count for c in again.statuses) == 3
    second = sql_store.journey_counts(Cohort(journey_id="j", version=2), NOW, running)
    assert second.steps["call"].waiting_now == 1
    assert sum(c.count for c in second.statuses) == 1


def test_many_running_are_matched_to_the_cohort_in_one_read(sql_store: SqlStore) -> None:
    """Over 500 running enrollments (most of other journeys' or not stored yet): those of
    the cohort are its running ones that Temporal lists, as with few."""
    sz, bj = _customer(sql_store, "sz-01"), _customer(sql_store, "bj-01")
    for n, customer in enumerate((sz, bj, sz)):
        sql_store.record_enrollment(
            EnrollmentRecord(
                id=f"e{n}", journey_id="j", version=1, customer_id=customer, started_at=T0
            )
        )
    sql_store.finish_enrollment("e2", "completed", None, None, NOW)
    few = {"e0": "wait", "e1": "call"}
    many = few | {f"elsewhere-{i}": "wait" for i in range(600)}
    for running in (few, many):
        sz_only = Cohort(journey_id="j", clinics=("sz-01",))
        assert sql_store.waiting_steps(sz_only, running) == ["wait"]
        assert sorted(sql_store.waiting_steps(Cohort(journey_id="j", version=1), running)) == [
            "call",
            "wait",
        ]
        counts = sql_store.journey_counts(sz_only, NOW, running)
        assert counts.steps["wait"].waiting_now == 1 and "call" not in counts.steps
