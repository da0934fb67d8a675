"""Journey tallies against the trace: metrics summed from ``journey_tallies`` (whole entry
days) and the trace (the rest) equal those read from the trace alone, however the
entries arrive: in chunks, retried, out of order, before the enrollment's row, and
with the split arms moved when the enrollment ends (SQLite, and PostgreSQL with
CAREPATH_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.contracts.journey import TraceEntry
from engine.store.metrics import ArmCount, Cohort, JourneyCounts
from engine.store.records import EnrollmentRecord
from engine.store.sql import SqlStore
from engine.store.sql.db import WRITE_OPTION, make_engine
from engine.store.sql.journey_figures import Figures
from engine.store.sql.journey_metrics import _add_traced, cohort_ids
from engine.store.sql.migrate import alembic_config
from engine.store.sql.sends import SKIP_REASONS
from engine.store.sql.tallies import Fact, figures, skip_reason
from tests.db import migrated_database

pytestmark = pytest.mark.db

BASE = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
NOW = BASE + dt.timedelta(days=2)
STEPS = ("welcome", "remind", "ab")
CHANNELS = ("wechat_template", "sms", None)
OUTCOMES = ("delivered", "accepted", "failed", "timeout", "skipped", "deferred", "quota", None)
DETAILS = ("no wechat_openid", "frequency cap: 1 per day", "名单外", "MARKETING CONSENT", None)
ENDS = ("running", "completed", "converted", "exited", "failed")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    with migrated_database(tmp_path_factory.mktemp("tallies")) as url:
        found = SqlStore(url)
        yield found
        found.close()


@st.composite
def entries(draw: st.DrawFn) -> list[TraceEntry]:
    kinds = st.sampled_from(("send", "attempt", "attempt", "receipt", "split", "wait"))
    found: list[TraceEntry] = []
    for seq in range(1, draw(st.integers(1, 14)) + 1):
        kind = draw(kinds)
        found.append(
            TraceEntry(
                seq=seq,
                at=BASE + dt.timedelta(minutes=seq),
                step=draw(st.sampled_from((*STEPS, None))),
                kind=kind,
                channel=draw(st.sampled_from(CHANNELS)),
                outcome=draw(st.sampled_from(OUTCOMES)),
                detail=draw(st.sampled_from(DETAILS)),
                variant=draw(st.sampled_from(("a", "b", "holdout"))) if kind == "split" else None,
            )
        )
    return found


def _write(store: SqlStore, draw: st.DrawFn, journey: str, i: int) -> None:
    """One enrollment's trace in chunks: some repeated (a retry), some out of order,
    its row recorded before or after the first chunk, then perhaps ended."""
    enrollment = f"{journey}:{i}"
    trace = draw(entries())
    cuts = sorted(draw(st.sets(st.integers(1, len(trace)), max_size=3)))
    chunks = [trace[a:b] for a, b in zip([0, *cuts], [*cuts, len(trace)], strict=True) if a < b]
    chunks += draw(st.lists(st.sampled_from(chunks), max_size=2))  # retried writes
    if draw(st.booleans()):
        chunks.reverse()
    # Around the UTC midnights the tallies' days turn at (BASE is 09:00 UTC).
    minutes = draw(st.sampled_from((0, 1, 899, 900, 901, 1439, 2339, 2340, 2341, 3000)))
    record = EnrollmentRecord(
        id=enrollment,
        journey_id=journey,
        version=draw(st.sampled_from((1, 2))),
        customer_id=f"c{i}",
        started_at=BASE + dt.timedelta(minutes=minutes, microseconds=draw(st.sampled_from((0, 1)))),
    )
    late = draw(st.booleans())
    if not late:
        store.record_enrollment(record)
    last = chunks.pop() if chunks and draw(st.booleans()) else []
    for chunk in chunks:
        store.append_trace(enrollment, chunk)
        if late:
            store.record_enrollment(record)
    if late:
        store.record_enrollment(record)
    end = draw(st.sampled_from(ENDS))
    if end == "running":
        store.append_trace(enrollment, last)
    else:
        store.finish_enrollment(enrollment, end, None, None, BASE + dt.timedelta(days=1), last)  # type: ignore[arg-type]


def _traced(store: SqlStore, cohort: Cohort) -> Figures:
    found = Figures()
    with store._analytic_read() as s:
        _add_traced(s, cohort_ids(cohort), found)
    return found


def _arms(arms: dict[str, list[ArmCount]]) -> dict[str, dict[str, Any]]:
    return {step: {a.variant: a.model_dump() for a in found} for step, found in arms.items()}


_EDGES = st.one_of(
    st.none(),
    st.sampled_from((0, 30, 899, 900, 901, 960, 2340, 2341, 2400, 3100)).map(
        lambda m: BASE + dt.timedelta(minutes=m)
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_tallied_metrics_equal_the_trace_s(store: SqlStore, data: st.DataObject) -> None:
    journey = f"j-{uuid.uuid4().hex[:10]}"
    for i in range(data.draw(st.integers(1, 4))):
        _write(store, data.draw, journey, i)
    for _ in range(3):
        since, until = data.draw(_EDGES), data.draw(_EDGES)
        version = data.draw(st.sampled_from((None, 1, 2)))
        cohort = Cohort(journey_id=journey, version=version, since=since, until=until)
        got: JourneyCounts = store.journey_counts(cohort, NOW, {})
        want = _traced(store, cohort)
        assert {k: v.model_dump() for k, v in got.steps.items()} == {
            k: v.model_dump() for k, v in want.steps.items()
        }
        assert _arms(got.arms) == _arms(want.arms())


def _migrate(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            if revision == "head":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
    finally:
        engine.dispose()


@settings(max_examples=5, deadline=None)
@given(data=st.data())
def test_the_migration_tallies_the_trace_already_stored(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    with migrated_database(tmp_path_factory.mktemp("backfill")) as url:
        store = SqlStore(url)
        try:
            journey = "j"
            for i in range(data.draw(st.integers(1, 5))):
                _write(store, data.draw, journey, i)
            cohorts = [Cohort(journey_id=journey), Cohort(journey_id=journey, version=2)]
            before = [store.journey_counts(c, NOW, {}) for c in cohorts]
            _migrate(url, "0015")
            _migrate(url, "head")
            assert [store.journey_counts(c, NOW, {}) for c in cohorts] == before
        finally:
            store.close()


def test_a_split_arm_moves_to_the_status_the_enrollment_ends_with(store: SqlStore) -> None:
    journey = f"j-{uuid.uuid4().hex[:10]}"
    at = BASE + dt.timedelta(minutes=5)
    store.record_enrollment(
        EnrollmentRecord(id="e", journey_id=journey, version=1, customer_id="c", started_at=at)
    )
    store.append_trace("e", [TraceEntry(seq=1, at=at, step="ab", kind="split", variant="b")])
    cohort = Cohort(journey_id=journey)
    [arm] = store.journey_counts(cohort, NOW, {}).arms["ab"]
    assert (arm.entered, arm.running, arm.converted, arm.last_entry) == (1, 1, 0, at)
    store.finish_enrollment("e", "converted", "goal", "b", NOW)
    [arm] = store.journey_counts(cohort, NOW, {}).arms["ab"]
    assert (arm.entered, arm.running, arm.converted, arm.last_entry) == (1, 0, 1, at)


@pytest.mark.parametrize(("pattern", "reason"), SKIP_REASONS)
def test_skip_reasons_are_those_of_the_trace_query(pattern: str, reason: str) -> None:
    detail = pattern.replace("%", "X")  # the pattern itself, as a detail, upper-cased ends
    assert skip_reason("skipped", detail) == reason
    assert skip_reason("deferred", detail) == "quiet_hours"
    assert skip_reason("skipped", None) == skip_reason("skipped", "名单外") == "other"


def test_a_delivery_after_another_channel_of_the_same_visit_is_a_fallback() -> None:
    def attempt(seq: int, channel: str, outcome: str) -> Fact:
        return Fact(seq, "s", "attempt", channel, outcome)

    tried = [Fact(1, "s", "send"), attempt(2, "wechat", "failed"), attempt(3, "sms", "delivered")]
    assert figures(tried, "running")[("s", "fallback", "", "", "")] == 1
    revisit = [*tried[:2], Fact(3, "s", "send"), attempt(4, "sms", "delivered")]
    assert figures(revisit, "running")[("s", "fallback", "", "", "")] == 0
