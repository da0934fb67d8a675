"""``carepath demo-data``: the same seed writes the same rows, and the rows look like a
clinic chain's: paid after booked, about 20 events a person, costs every day, merges,
and journeys whose outcomes agree with the customers' own events."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cli import up
from cli.demo import EXAMPLE_WORKSPACE
from cli.demo.calendar import HISTORY_DAYS, Calendar
from cli.demo.counts import customer_count, table_counts
from cli.demo.population import generate
from cli.demo.recovery import JOURNEY as RECOVERY
from cli.demo.screening import JOURNEY as SCREENING
from cli.demo.world import World
from cli.demo_data import unsynced
from cli.main import build_parser, main
from engine.models.attribution import utm_touches
from engine.reports.journey_metrics import journey_metrics
from engine.store.metrics import Cohort
from engine.store.records import EnrollmentRecord
from engine.store.sql import SqlStore
from engine.store.sql.tables import CustomerRow, EventRow
from tests.db import migrated_database

TODAY = "2026-06-01"
CONTRACT_NAMES = (
    "page.viewed",
    "content.viewed",
    "share.sent",
    "form.submitted",
    "consultation.started",
    "appointment.booked",
    "appointment.paid",
    "order.placed",
    "order.paid",
    "wechat.subscribed",
    "wecom.contact_added",
)
PEOPLE = 200
ANCHOR = datetime(2026, 5, 31, 16, 0, tzinfo=UTC)  # 2026-06-01 00:00 in Asia/Shanghai


def load(url: str, seed: int, people: int = PEOPLE) -> int:
    args = ["demo-data", "--customers", str(people), "--seed", str(seed), "--today", TODAY]
    return main([*args, "--database-url", url])


@dataclass
class Event:
    customer_id: str
    message_id: str
    name: str
    properties: dict[str, Any]
    at: datetime


def events_of(url: str) -> list[Event]:
    store = SqlStore(url)
    try:
        columns = (EventRow.customer_id, EventRow.message_id, EventRow.name)
        with store._db.read() as s, s.begin():
            rows = s.execute(select(*columns, EventRow.properties, EventRow.at))
            return [Event(*row) for row in rows]
    finally:
        store.close()


def digest(events: list[Event]) -> str:
    lines = sorted(
        f"{e.customer_id}|{e.message_id}|{e.name}|{json.dumps(e.properties, sort_keys=True)}|"
        f"{e.at.astimezone(UTC).isoformat()}"
        for e in events
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def counts_of(url: str) -> dict[str, int]:
    store = SqlStore(url)
    try:
        return table_counts(store)
    finally:
        store.close()


@pytest.mark.db
def test_the_same_seed_writes_the_same_rows_and_another_seed_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        migrated_database(tmp_path / "a") as first,
        migrated_database(tmp_path / "b") as second,
        migrated_database(tmp_path / "c") as other,
    ):
        assert load(first, seed=5, people=100) == 0
        out = capsys.readouterr().out
        for figure in ("customers", "events", "merges", "cost rows", "enrollments", "events/s"):
            assert figure in out
        assert load(second, seed=5, people=100) == 0
        assert load(other, seed=6, people=100) == 0
        counts = counts_of(first)
        assert counts == counts_of(second)
        assert counts["events"] > 1500 and counts["enrollments"] > 0
        assert digest(events_of(first)) == digest(events_of(second))
        assert digest(events_of(first)) != digest(events_of(other))


@pytest.mark.db
def test_postgresql_commits_of_the_demo_do_not_wait_for_the_disk() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dt_1"
    assert "synchronous_commit" in unsynced(url) and "search_path" in unsynced(url)
    assert unsynced("sqlite:///var/carepath.db") == "sqlite:///var/carepath.db"


@pytest.mark.db
def test_a_database_with_customers_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with migrated_database(tmp_path) as url:
        assert load(url, seed=1, people=20) == 0
        before = counts_of(url)
        assert load(url, seed=2, people=20) == 2
        assert "already has" in capsys.readouterr().err
        assert counts_of(url) == before


# -- one demo chain, looked at like an analyst would ----------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlStore]:
    with migrated_database(tmp_path_factory.mktemp("demo")) as url:
        assert load(url, seed=3) == 0
        store = SqlStore(url)
        yield store
        store.close()


@pytest.fixture(scope="module")
def events(demo: SqlStore) -> list[Event]:
    return events_of(demo.url)


def appointment(event: Event) -> str:
    return str(event.properties["appointment_id"])


@pytest.mark.db
def test_about_twenty_events_a_person_spread_over_the_days_before_the_anchor(
    events: list[Event],
) -> None:
    assert 15 <= len(events) / PEOPLE <= 25
    assert all(e.at < ANCHOR for e in events)
    days = Counter(e.at.date() for e in events)
    assert len(days) > HISTORY_DAYS * 0.8  # activity on most days, not in lumps
    names = Counter(e.name for e in events)
    for name in CONTRACT_NAMES:
        assert names[name] > 0, name
    assert names["content.viewed"] > names["appointment.booked"] > names["order.paid"]


@pytest.mark.db
def test_every_payment_follows_a_booking_of_the_same_appointment(events: list[Event]) -> None:
    booked = {
        (e.customer_id, appointment(e)): e.at for e in events if e.name == "appointment.booked"
    }
    paid = [e for e in events if e.name == "appointment.paid"]
    assert paid
    for event in paid:
        key = (event.customer_id, appointment(event))
        assert key in booked and booked[key] < event.at, event
        assert isinstance(event.properties["amount"], float)


@pytest.mark.db
def test_fewer_pay_than_book_in_every_cohort(events: list[Event]) -> None:
    first: dict[str, datetime] = {}
    for event in sorted(events, key=lambda e: e.at):
        first.setdefault(event.customer_id, event.at)
    cohorts: dict[tuple[int, int], dict[str, set[str]]] = {}
    for event in events:
        if event.name in ("appointment.booked", "appointment.paid"):
            start = first[event.customer_id]
            cohort = cohorts.setdefault((start.year, start.month), {"booked": set(), "paid": set()})
            cohort[event.name.split(".")[1]].add(event.customer_id)
    assert len(cohorts) >= 5
    for month, cohort in cohorts.items():
        assert len(cohort["paid"]) <= len(cohort["booked"]), month


@pytest.mark.db
def test_costs_every_day_for_baidu(demo: SqlStore) -> None:
    costs = demo.list_costs(date(2025, 12, 3), date(2026, 6, 1))
    baidu = {c.date for c in costs if c.utm_source == "baidu"}
    assert len(baidu) == HISTORY_DAYS
    assert {c.utm_source for c in costs} == {"baidu", "dianping", "douyin"}
    assert all(c.clicks and c.impressions and c.clicks < c.impressions for c in costs)


@pytest.mark.db
def test_first_touches_and_merges(demo: SqlStore, events: list[Event]) -> None:
    merges = demo.list_merges()
    assert len(merges) == PEOPLE // 100  # one customer in a hundred
    for merge in merges:
        survivor = demo.get_customer(merge.survivor_id)
        assert survivor.attributes["clinic_id"] and survivor.source
        assert {"phone", "wechat_openid"} <= set(survivor.identities)
    query = select(CustomerRow.id, CustomerRow.source).where(CustomerRow.merged_into.is_(None))
    with demo._db.read() as s, s.begin():
        live = list(s.execute(query))
    untouched = [cid for cid, source in live if not source]
    assert 0 < len(untouched) < 0.12 * len(live)
    channels = Counter(str(source.get("channel")) for _, source in live if source)
    assert {"qrcode", "wechat_follow", "wecom", "web", "live"} <= set(channels)
    assert customer_count(demo) == len(live) + len(merges)
    assert utm_touches(events)  # the ad visits carry their UTM fields


def enrollments(store: SqlStore, journey: str) -> list[EnrollmentRecord]:
    found = store.list_enrollments(journey_id=journey, limit=10_000)
    assert found, journey
    return found


@pytest.mark.db
def test_payment_recovery_converts_exactly_when_the_appointment_is_paid(
    demo: SqlStore, events: list[Event]
) -> None:
    paid: dict[str, list[datetime]] = {}
    for event in events:
        if event.name == "appointment.paid":
            paid.setdefault(appointment(event), []).append(event.at)
    for enrollment in enrollments(demo, RECOVERY):
        assert enrollment.key is not None
        until = enrollment.ended_at or ANCHOR
        within = [t for t in paid.get(enrollment.key, []) if enrollment.started_at <= t <= until]
        converted = enrollment.status == "converted"
        assert converted == bool(within), enrollment
        if converted:
            assert within[0] <= enrollment.started_at + timedelta(days=7)


@pytest.mark.db
def test_screening_parents_convert_exactly_when_they_book_in_the_window(
    demo: SqlStore, events: list[Event]
) -> None:
    booked: dict[str, list[datetime]] = {}
    for event in events:
        if event.name == "appointment.booked":
            booked.setdefault(event.customer_id, []).append(event.at)
    for enrollment in enrollments(demo, SCREENING):
        end = min(enrollment.ended_at or ANCHOR, enrollment.started_at + timedelta(days=30))
        times = booked.get(enrollment.customer_id, [])
        within = [t for t in times if enrollment.started_at <= t <= end]
        assert (enrollment.status == "converted") == bool(within), enrollment


@pytest.mark.db
def test_journey_metrics_have_figures(demo: SqlStore) -> None:
    now = datetime.now(UTC)
    for journey in (RECOVERY, SCREENING):
        bundle = demo.current_bundle(journey)
        counts = demo.journey_counts(Cohort(journey_id=journey), now, {})
        metrics = journey_metrics(bundle, counts, None, now)
        assert metrics.entered == len(enrollments(demo, journey))
        sends = [c for step in metrics.steps.values() for c in step.sends.values()]
        assert sum(c.attempted for c in sends) > 0 and sum(c.delivered for c in sends) > 0
        handoffs = sum(step.handoffs.created for step in metrics.steps.values())
        assert handoffs > 0
    recovery = demo.journey_counts(Cohort(journey_id=RECOVERY), now, {})
    assert recovery.steps["remind"].fallbacks > 0  # WeChat did not reach some: SMS did


def test_the_call_converts_better_than_the_holdout() -> None:
    world = World.build(1, Calendar.of(date.fromisoformat(TODAY)))
    arms: dict[str, list[int]] = {}
    for customer in generate(world, 3000):
        for enrollment in customer.enrollments:
            drawn = [t.variant for t in enrollment.trace if t.kind == "split"]
            if enrollment.journey_id == SCREENING and drawn and drawn[0]:
                arm = arms.setdefault(drawn[0], [0, 0])
                arm[0] += 1
                arm[1] += enrollment.status == "converted"
    (call_n, call_c), (held_n, held_c) = arms["call"], arms["holdout"]
    assert 0.7 < call_n / (call_n + held_n) < 0.9  # drawn 80/20, as the split says
    assert call_c / call_n > held_c / held_n


@pytest.mark.db
def test_carepath_up_loads_the_demo_on_a_first_start_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert build_parser().parse_args(["up", "--no-demo"]).no_demo
    monkeypatch.setattr(up, "DEMO_CUSTOMERS", 30)
    with migrated_database(tmp_path) as url:
        store = SqlStore(url)
        try:
            up.first_start_demo(store, EXAMPLE_WORKSPACE)
            line = capsys.readouterr().out
            assert line.startswith("demo data:") and "customers" in line
            loaded = customer_count(store)
            up.first_start_demo(store, EXAMPLE_WORKSPACE)
            assert capsys.readouterr().out == ""
            assert customer_count(store) == loaded
        finally:
            store.close()
