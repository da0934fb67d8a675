"""Journey tallies per clinic against the trace: a clinic's figures summed from
``journey_clinic_tallies`` equal those read from the trace of the enrollments whose
customer is of the clinic now, after customers change clinic (by an attribute write,
an identify, a whole profile, a merge) between, before and after their trace is written
(SQLite, and PostgreSQL with CAREPATH_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from engine.contracts.journey import TraceEntry
from engine.store.metrics import ArmCount, Cohort, JourneyCounts
from engine.store.records import EnrollmentRecord, Identities
from engine.store.sql import SqlStore
from engine.store.sql.attributes import customer_clinic
from engine.store.sql.clinic_tallies import clinic_key, clinic_moved, kept_exactly
from engine.store.sql.journey_figures import Figures
from engine.store.sql.journey_metrics import _add_traced, cohort_ids
from engine.store.sql.tables import CustomerRow, EnrollmentRow
from tests.db import migrated_database
from tests.engine.store.test_tallies import _migrate

pytestmark = pytest.mark.db

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(days=3)
#: What a customer's clinic_id may be set to (``...``: no such attribute).
HELD: tuple[Any, ...] = ("sz-01", "bj-01", "7", 7, None, ...)
ASKED = ("sz-01", "bj-01", "7")
ENDS = ("running", "running", "completed", "converted", "exited")


class Population:
    """Customers (a phone and an openid each), their enrollments and traces, written
    through the store as the API and the worker write them."""

    def __init__(self, store: SqlStore, journey: str) -> None:
        self.store, self.journey = store, journey
        self.phones: list[str] = []
        self.running: list[tuple[str, int]] = []  # (enrollment, its next seq)

    def customer(self, clinic: Any) -> None:
        n = len(self.phones)
        phone = f"1390000{uuid.uuid4().int % 10_000:04d}"
        ids = Identities(phone=phone, wechat_openid=f"o-{uuid.uuid4().hex[:10]}")
        self.store.identify(ids, _clinic(clinic), at=T0 + dt.timedelta(seconds=n))
        self.phones.append(phone)

    def _id(self, i: int) -> str:
        found = self.store.resolve(Identities(phone=self.phones[i]), at=T0)
        return found.customer_id

    def enroll(self, draw: st.DrawFn, i: int) -> None:
        enrollment = f"{self.journey}:{uuid.uuid4().hex[:8]}"
        started = T0 + dt.timedelta(hours=draw(st.integers(0, 40)))
        self.store.record_enrollment(
            EnrollmentRecord(
                id=enrollment,
                journey_id=self.journey,
                version=1,
                customer_id=self._id(i),
                started_at=started,
            )
        )
        self.running.append((enrollment, 1))
        self.more(draw)

    def more(self, draw: st.DrawFn) -> None:
        """More trace of a running enrollment, perhaps its end."""
        if not self.running:
            return
        k = draw(st.integers(0, len(self.running) - 1))
        enrollment, seq = self.running.pop(k)
        trace = _visit(draw, seq)
        end = draw(st.sampled_from(ENDS))
        if end == "running":
            self.store.append_trace(enrollment, trace)
            self.running.append((enrollment, seq + len(trace)))
        else:
            self.store.finish_enrollment(enrollment, end, None, None, NOW, trace)  # type: ignore[arg-type]

    def move(self, draw: st.DrawFn) -> None:
        """One customer changes clinic, one of four ways, or two customers merge."""
        i = draw(st.integers(0, len(self.phones) - 1))
        clinic = draw(st.sampled_from(HELD))
        how = draw(st.sampled_from(("set", "identify", "profile", "merge")))
        if how == "set" and clinic is not ...:
            self.store.set_attributes(self._id(i), {"clinic_id": clinic})
        elif how == "identify":
            self.store.identify(Identities(phone=self.phones[i]), _clinic(clinic), at=NOW)
        elif how == "profile":
            customer = self.store.get_customer(self._id(i))
            attributes = {k: v for k, v in customer.attributes.items() if k != "clinic_id"}
            profile = customer.model_copy(update={"attributes": attributes | _clinic(clinic)})
            self.store.put_customer(profile)
        else:
            j = draw(st.integers(0, len(self.phones) - 1))
            other = self.store.get_customer(self._id(j))
            openid = other.identities.get("wechat_openid")
            self.store.identify(Identities(phone=self.phones[i], wechat_openid=openid), {}, at=NOW)


def _clinic(clinic: Any) -> dict[str, Any]:
    return {} if clinic is ... else {"clinic_id": clinic}


def _visit(draw: st.DrawFn, seq: int) -> list[TraceEntry]:
    """A visit of a send step (attempts, perhaps a fallback) and perhaps a split."""
    at = T0 + dt.timedelta(minutes=seq)
    found = [TraceEntry(seq=seq, at=at, step="remind", kind="send")]
    for channel in draw(st.lists(st.sampled_from(("sms", "wechat_template")), max_size=2)):
        found.append(
            TraceEntry(
                seq=seq + len(found),
                at=at,
                step="remind",
                kind="attempt",
                channel=channel,
                outcome=draw(st.sampled_from(("delivered", "failed", "skipped", "deferred"))),
                detail=draw(st.sampled_from(("no wechat_openid", "frequency cap", None))),
            )
        )
    if draw(st.booleans()):
        variant = draw(st.sampled_from(("a", "b")))
        found.append(
            TraceEntry(seq=seq + len(found), at=at, step="ab", kind="split", variant=variant)
        )
    return found


def _traced(store: SqlStore, cohort: Cohort) -> Figures:
    found = Figures()
    with store._analytic_read() as s:
        _add_traced(s, cohort_ids(cohort), found)
    return found


def _arms(arms: dict[str, list[ArmCount]]) -> dict[str, dict[str, tuple[int, int, int]]]:
    return {
        step: {a.variant: (a.entered, a.converted, a.running) for a in found}
        for step, found in arms.items()
    }


def _latest(arms: dict[str, list[ArmCount]]) -> dict[tuple[str, str], dt.datetime | None]:
    return {(step, a.variant): a.last_entry for step, found in arms.items() for a in found}


def _assert_kept_under_their_customers_clinic(store: SqlStore, journey: str) -> None:
    """Every enrollment's recorded clinic is its customer's now (what the figures of a
    clinic filter by)."""
    stmt = (
        select(EnrollmentRow.clinic, customer_clinic())
        .join(CustomerRow, CustomerRow.id == EnrollmentRow.customer_id)
        .where(EnrollmentRow.journey_id == journey)
    )
    with store._analytic_read() as s:
        rows = s.execute(stmt).all()
    assert rows and all(kept == clinic_key(now) for kept, now in rows), rows


def _assert_as_traced(store: SqlStore, cohort: Cohort, exact: bool) -> None:
    got: JourneyCounts = store.journey_counts(cohort, NOW, {})
    want = _traced(store, cohort)
    assert {k: v.model_dump() for k, v in got.steps.items()} == {
        k: v.model_dump() for k, v in want.steps.items()
    }
    assert _arms(got.arms) == _arms(want.arms())
    # A clinic a mover left may keep the mover's entry time as its arm's latest (it
    # only keeps an experiment provisional longer); exact where nobody moved.
    latest, wanted = _latest(got.arms), _latest(want.arms())
    for key, last in wanted.items():
        assert last is None or (latest[key] is not None and latest[key] >= last)  # type: ignore[operator]
        assert not exact or latest[key] == last


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_clinic_s_tallies_follow_its_customers(sql_store: SqlStore, data: st.DataObject) -> None:
    people = Population(sql_store, f"j-{uuid.uuid4().hex[:10]}")
    for clinic in data.draw(st.lists(st.sampled_from(HELD), min_size=2, max_size=4)):
        people.customer(clinic)
    for _ in range(data.draw(st.integers(1, 5))):
        people.enroll(data.draw, data.draw(st.integers(0, len(people.phones) - 1)))
    for _ in range(data.draw(st.integers(1, 4))):
        people.move(data.draw)
        people.more(data.draw)
    _assert_kept_under_their_customers_clinic(sql_store, people.journey)
    for _ in range(3):
        clinics = tuple(data.draw(st.lists(st.sampled_from(ASKED), min_size=1, unique=True)))
        since = data.draw(st.sampled_from((None, T0 + dt.timedelta(hours=20))))
        cohort = Cohort(journey_id=people.journey, since=since, clinics=clinics)
        _assert_as_traced(sql_store, cohort, exact=False)


def test_a_customer_who_changes_clinic_takes_the_figures_along(sql_store: SqlStore) -> None:
    people = Population(sql_store, f"j-{uuid.uuid4().hex[:10]}")
    people.customer("sz-01")
    cid = people._id(0)
    sql_store.record_enrollment(
        EnrollmentRecord(
            id="e-move", journey_id=people.journey, version=1, customer_id=cid, started_at=T0
        )
    )
    sql_store.append_trace("e-move", [TraceEntry(seq=1, at=T0, step="remind", kind="send")])

    def reached(clinic: str) -> int:
        cohort = Cohort(journey_id=people.journey, clinics=(clinic,))
        found = sql_store.journey_counts(cohort, NOW, {}).steps.get("remind")
        return 0 if found is None else found.reached

    assert (reached("sz-01"), reached("bj-01")) == (1, 0)
    sql_store.set_attributes(cid, {"clinic_id": "bj-01"})
    assert (reached("sz-01"), reached("bj-01")) == (0, 1)
    with sql_store._analytic_read() as s:
        assert s.scalar(select(EnrollmentRow.clinic).where(EnrollmentRow.id == "e-move")) == "bj-01"


def test_which_clinics_the_tallies_keep_apart() -> None:
    assert kept_exactly(("sz-01", "7", "x" * 63))
    assert not kept_exactly(("sz-01", ""))  # the key of customers without a clinic
    assert not kept_exactly(("x" * 64,))  # a truncated id's key could be its prefix


def test_which_writes_may_move_a_customer() -> None:
    assert not clinic_moved({"clinic_id": "sz-01", "name": "a"}, {"clinic_id": "sz-01"})
    assert not clinic_moved({"name": "a"}, {"name": "b"})
    assert clinic_moved({"clinic_id": 7}, {"clinic_id": 7.0})  # "7" and "7.0" as text
    assert clinic_moved({}, {"clinic_id": None})
    assert clinic_moved({"clinic_id": "sz-01"}, {})


@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_the_migration_tallies_each_clinic_s_trace(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    with migrated_database(tmp_path_factory.mktemp("clinics")) as url:
        store = SqlStore(url)
        try:
            people = Population(store, "j")
            for clinic in data.draw(st.lists(st.sampled_from(HELD), min_size=2, max_size=4)):
                people.customer(clinic)
            for _ in range(data.draw(st.integers(1, 5))):
                people.enroll(data.draw, data.draw(st.integers(0, len(people.phones) - 1)))
            cohorts = [Cohort(journey_id="j", clinics=(c,)) for c in ASKED]
            before = [store.journey_counts(c, NOW, {}) for c in cohorts]
            _migrate(url, "0019")
            _migrate(url, "head")
            assert [store.journey_counts(c, NOW, {}) for c in cohorts] == before
            for cohort in cohorts:
                _assert_as_traced(store, cohort, exact=True)
        finally:
            store.close()


def test_moves_and_trace_writes_at_once_keep_the_clinics_exact(sql_store: SqlStore) -> None:
    """Trace writes, new enrollments and clinic changes of one customer from four
    threads: every clinic's figures are still its trace's (PostgreSQL takes turns on
    the rows; SQLite has one writer)."""
    people = Population(sql_store, f"j-{uuid.uuid4().hex[:10]}")
    people.customer("sz-01")
    cid = people._id(0)
    errors: list[BaseException] = []

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as e:  # noqa: BLE001 - reported by the test below
                errors.append(e)

        return run

    def enroll(n: int) -> None:
        for k in range(6):
            enrollment = f"{people.journey}:{n}-{k}"
            record = EnrollmentRecord(
                id=enrollment,
                journey_id=people.journey,
                version=1,
                customer_id=cid,
                started_at=T0 + dt.timedelta(minutes=k),
            )
            sql_store.record_enrollment(record)
            for seq in range(1, 8, 2):
                at = T0 + dt.timedelta(minutes=seq)
                sql_store.append_trace(
                    enrollment,
                    [
                        TraceEntry(seq=seq, at=at, step=f"s{seq}", kind="send"),
                        TraceEntry(
                            seq=seq + 1,
                            at=at,
                            step=f"s{seq}",
                            kind="attempt",
                            channel="sms",
                            outcome="delivered",
                        ),
                    ],
                )

    def move() -> None:
        for k in range(12):
            sql_store.set_attributes(cid, {"clinic_id": ("bj-01", "sz-01")[k % 2]})

    threads = [
        threading.Thread(target=guarded(w))
        for w in (partial(enroll, 0), partial(enroll, 1), partial(enroll, 2), move)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _assert_kept_under_their_customers_clinic(sql_store, people.journey)
    for clinic in ("sz-01", "bj-01"):
        _assert_as_traced(sql_store, Cohort(journey_id=people.journey, clinics=(clinic,)), False)
    whole = sql_store.journey_counts(Cohort(journey_id=people.journey, clinics=("sz-01",)), NOW, {})
    assert whole.steps["s1"].reached == 18  # it ends in sz-01 with all 18 enrollments
