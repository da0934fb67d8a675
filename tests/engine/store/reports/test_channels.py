"""The channels report: the SQL against its definition in plain Python, on generated
enrollments whose send steps try channels in order, skip, defer, fall back and wait for
receipts, with a trace stored only up to the last activity (as a running enrollment's
is) and deliveries for the provider calls (SQLite, and PostgreSQL with
CAREPATH_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from engine.models.reports.channels import ChannelRow
from engine.models.reports.scope import NONE, ReportScope
from engine.store.sql.reports.channels import channels_report
from engine.store.sql.sends import SKIP_REASONS
from engine.store.sql.tables import ConsentRow, DeliveryRow, EnrollmentRow, TraceRow
from tests.engine.store.reports.population import (
    BASE,
    ROLES,
    START,
    Customer,
    Population,
    database,
    insert_population,
    instants,
    populations,
)

pytestmark = pytest.mark.db
__all__ = ["database"]

CHANNELS = ("wechat_template", "sms", "wecom", "phone")
SKIPS = (
    "no wechat_openid",
    "does not follow the Official Account",
    "no marketing consent for sms",
    "circuit open until 2026-03-02T00:00:00+00:00 (daily quota)",
    "no subscribe-message consent left for the template",
    "frequency cap: 1 marketing per day",
    "to guardian u1: no phone",
    "customer-service window closed (no message, follow, scan or click recently)",
    "名单外",
    None,
)
#: What a channel's try can come to: (attempt outcome, receipt outcome or None).
TRIES = (
    ("skipped", None),
    ("deferred", None),
    ("delivered", None),
    ("accepted", "delivered"),
    ("accepted", "failed"),
    ("accepted", "timeout"),
    ("recipient", None),
    ("quota", None),
    ("unknown", None),
    ("transient", None),
    ("config", None),
)
#: Failed: refused for the customer or the channel, errored, failed by a receipt, none in time.
FAILED = ("recipient", "quota", "transient", "config", "failed", "timeout")
#: Tries that settle, drawn more often so that fallbacks, latencies and timeouts abound.
SETTLED = (("delivered", None), *(("accepted", r) for r in ("delivered", "failed", "timeout")))
_GAPS = [dt.timedelta(microseconds=us) for us in (0, 1, 3_000_000, 1_020_000_250, 9 * 3600 * 10**6)]


@dataclass
class Entry:
    seq: int
    at: dt.datetime
    step: str
    kind: str
    channel: str | None = None
    outcome: str | None = None
    detail: str | None = None


@dataclass
class Delivery:
    enrollment_id: str
    step: str
    channel: str
    at: dt.datetime
    outcome: str | None
    customer_id: str


@dataclass
class Consent:
    customer_id: str
    channel: str | None
    granted: bool
    at: dt.datetime


@dataclass
class World:
    population: Population
    enrollments: dict[str, str] = field(default_factory=dict)  # id -> customer
    trace: dict[str, list[Entry]] = field(default_factory=dict)  # stored entries
    deliveries: list[Delivery] = field(default_factory=list)
    consents: list[Consent] = field(default_factory=list)


# -- generation ---------------------------------------------------------------------


def _in_range() -> st.SearchStrategy[dt.datetime]:
    """Times inside the range and on its ends in either timezone asked (Shanghai's
    midnight is 16:00 UTC, UTC's is 8:00 in Shanghai)."""
    ends = [BASE + dt.timedelta(days=d, hours=h) for d in (0, 10) for h in (0, 8)]
    edges = st.sampled_from(ends).map(lambda t: t - dt.timedelta(microseconds=1))
    inside = st.integers(0, 10 * 1440).map(lambda m: BASE + dt.timedelta(minutes=m))
    return st.one_of(st.sampled_from(ends), edges, inside)


@st.composite
def _visit(draw: st.DrawFn, step: str, clock: list[dt.datetime]) -> list[Entry]:
    """One visit of a send step: its channels tried in order until one succeeds."""

    def at() -> dt.datetime:
        clock[0] += draw(st.sampled_from(_GAPS))
        return clock[0]

    entries = [Entry(0, at(), step, "send")]
    for channel in draw(st.permutations(CHANNELS))[: draw(st.integers(1, 3))]:
        attempt, receipt = draw(st.one_of(st.sampled_from(TRIES), st.sampled_from(SETTLED)))
        if channel == "phone" and attempt not in ("skipped", "deferred"):
            attempt, receipt = "accepted", None  # a call task: the send is done
        detail = draw(st.sampled_from(SKIPS)) if attempt == "skipped" else "quiet hours"
        entries.append(Entry(0, at(), step, "attempt", channel, attempt, detail))
        if receipt is not None:
            entries.append(Entry(0, at(), step, "receipt", channel, receipt))
        if (receipt or attempt) in ("delivered", "accepted"):
            break
    return entries


@st.composite
def worlds(draw: st.DrawFn) -> World:
    world = World(draw(populations(max_customers=4)))
    customers = [c for c in world.population.customers if c.merged_into is None]
    merged = {c.merged_into: c.id for c in world.population.customers if c.merged_into}
    for i in range(draw(st.integers(2, 8))):
        eid, customer = f"e{i}", draw(st.sampled_from(customers)).id
        world.enrollments[eid] = customer
        clock = [draw(st.one_of(_in_range(), _in_range(), instants()))]
        entries: list[Entry] = []
        for _ in range(draw(st.integers(1, 3))):
            entries += draw(_visit(draw(st.sampled_from(["s1", "s1", "s2"])), clock))
            entries.append(Entry(0, clock[0], "s3", "wait"))
        for n, entry in enumerate(entries, 1):
            entry.seq = n
        # Stored up to an activity: before a provider call (whose delivery is begun).
        calls = [n for n, e in enumerate(entries) if e.kind == "attempt" and e.outcome != "skipped"]
        cut = draw(st.sampled_from([*calls, len(entries)]))
        world.trace[eid] = entries[:cut]
        for e in entries[: cut + 1]:
            if e.kind != "attempt" or e.channel == "phone" or e.outcome in ("skipped", "deferred"):
                continue
            if e.outcome == "config" and draw(st.booleans()):
                continue  # a template error: the provider was never called
            outcome = e.outcome if e.seq <= cut or draw(st.booleans()) else None
            who = merged.get(customer, customer) if draw(st.booleans()) else customer
            before = e.at - draw(st.sampled_from(_GAPS[:3]))
            world.deliveries.append(Delivery(eid, e.step, e.channel or "", before, outcome, who))
    for _ in range(draw(st.integers(0, 4))):
        world.consents.append(
            Consent(
                draw(st.sampled_from(customers)).id,
                draw(st.sampled_from(["sms", "wechat_template", None])),
                draw(st.booleans()),
                draw(st.one_of(instants(), _in_range())),
            )
        )
    return world


# -- the definition -----------------------------------------------------------------


def _reason(entry: Entry) -> str:
    """A deferral is quiet hours; a skip's detail matches the first pattern it fits
    (``%words%`` anywhere, ``words %`` at the start), ignoring case."""
    if entry.outcome == "deferred":
        return "quiet_hours"
    text = (entry.detail or "").lower()
    for pattern, name in SKIP_REASONS:
        words = pattern.strip("%")
        found = words in text if pattern.startswith("%") else text.startswith(words)
        if entry.detail is not None and found:
            return name
    return "other"


def _fallback(stored: list[Entry], step: str, channel: str, seq: int | None) -> bool:
    """Another channel tried earlier in the same visit (up to the next send entry)."""
    last = seq if seq is not None else len(stored) + 1
    for a in stored:
        if a.kind == "attempt" and a.step == step and a.channel != channel and a.seq < last:
            if not any(s.kind == "send" and a.seq < s.seq < last for s in stored):
                return True
    return False


def oracle(world: World, scope: ReportScope) -> list[ChannelRow]:
    """Each try once: attempt entries in the range (settled by a receipt right after
    them), and deliveries in the range whose attempt entry is not stored."""
    people = world.population.customers
    allowed = {c.id for c in people if scope.clinics is None or c.clinic in scope.clinics}
    survivor = {c.id: c.merged_into or c.id for c in people}
    rows: dict[str, ChannelRow] = {}
    latencies: dict[str, list[int]] = {}

    def row(channel: str | None) -> ChannelRow:
        name = channel or NONE
        return rows.setdefault(name, ChannelRow(channel=name))

    def ranged(at: dt.datetime) -> bool:
        return scope.since <= at < scope.until

    def tried(channel: str, outcome: str | None, fallback: bool) -> None:
        found = row(channel)
        found.attempted += 1
        found.delivered += outcome == "delivered"
        found.failed += outcome in FAILED
        found.fallbacks += fallback and outcome == "delivered"

    for eid, stored in world.trace.items():
        if scope.clinics is not None and world.enrollments[eid] not in allowed:
            continue
        sends = [e for e in stored if e.kind in ("attempt", "receipt")]
        for i, e in enumerate(sends):
            if e.kind != "attempt" or not ranged(e.at):
                continue
            after = sends[i + 1] if i + 1 < len(sends) else None
            settles = after is not None and after.kind == "receipt"
            settles = settles and after.step == e.step and after.channel == e.channel
            outcome = after.outcome if settles and after else e.outcome
            fallback = _fallback(stored, e.step, e.channel or "", e.seq)
            if e.outcome in ("skipped", "deferred"):
                row(e.channel).skipped[_reason(e)] += 1
                row(e.channel).fallbacks += fallback and outcome == "delivered"
                continue
            tried(e.channel or "", outcome, fallback)
            if settles and after and after.outcome in ("delivered", "failed"):
                us = (after.at - e.at) // dt.timedelta(microseconds=1)
                latencies.setdefault(e.channel or "", []).append(us)
    for d in world.deliveries:
        stored = world.trace[d.enrollment_id]
        called = [a for a in stored if a.outcome not in ("skipped", "deferred")]
        match = ("attempt", d.step, d.channel)
        in_trace = any((a.kind, a.step, a.channel) == match and a.at >= d.at for a in called)
        if in_trace or not ranged(d.at):
            continue
        if scope.clinics is None or survivor[d.customer_id] in allowed:
            tried(d.channel, d.outcome, _fallback(stored, d.step, d.channel, None))
    for channel, values in latencies.items():
        values.sort()
        n = len(values)
        found = row(channel)
        found.receipts = n
        found.latency_p50_seconds = values[-(-n // 2) - 1] / 1_000_000
        found.latency_p90_seconds = values[-(-9 * n // 10) - 1] / 1_000_000
    withdrawn: dict[str | None, set[str]] = {}
    for c in world.consents:
        if not c.granted and ranged(c.at):
            if scope.clinics is None or c.customer_id in allowed:
                withdrawn.setdefault(c.channel, set()).add(c.customer_id)
    for channel, who in withdrawn.items():
        row(channel).opt_outs = len(who)
    return [rows[name] for name in sorted(rows)]


# -- the database -------------------------------------------------------------------


@contextmanager
def stored(engine: Engine, world: World) -> Iterator[Session]:
    """A session over the inserted world, rolled back afterwards."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            insert_population(conn, world.population)
            _insert(conn, world)
            with Session(bind=conn) as session:
                yield session
        finally:
            transaction.rollback()


def _insert(conn: Any, world: World) -> None:
    for eid, customer in world.enrollments.items():
        values = {"id": eid, "journey_id": "j", "version": 1, "status": "running"}
        conn.execute(
            insert(EnrollmentRow), [{**values, "customer_id": customer, "started_at": BASE}]
        )
        if world.trace[eid]:
            conn.execute(insert(TraceRow), [_trace_row(eid, e) for e in world.trace[eid]])
    for n, d in enumerate(world.deliveries):
        status = "pending" if d.outcome is None else "done"
        values = {"key": f"k{n}", "status": status, "detail": "", "provider_ref": None}
        conn.execute(insert(DeliveryRow), [{**values, **d.__dict__}])
    for c in world.consents:
        values = {"purpose": "marketing", "source": "test", "text_version": None}
        conn.execute(insert(ConsentRow), [{**values, **c.__dict__}])


def _trace_row(eid: str, e: Entry) -> dict[str, Any]:
    fields = {"channel": e.channel, "outcome": e.outcome, "detail": e.detail}
    payload = {k: v for k, v in fields.items() if v is not None}
    row = {"enrollment_id": eid, "seq": e.seq, "at": e.at, "step": e.step, "kind": e.kind}
    return {**row, "payload": payload}


def scope_of(clinics: tuple[str, ...] | None, timezone: str) -> ReportScope:
    return ReportScope(
        start=START,
        end=START + dt.timedelta(days=10),
        timezone=timezone,
        clinics=clinics,
        roles=ROLES,
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    world=worlds(),
    clinics=st.sampled_from([None, ("c1",), ("c2",), ()]),
    timezone=st.sampled_from(["Asia/Shanghai", "UTC"]),
)
def test_matches_the_definition(
    database: Engine, world: World, clinics: tuple[str, ...] | None, timezone: str
) -> None:
    asked = scope_of(clinics, timezone)
    with stored(database, world) as s:
        assert channels_report(s, asked).rows == oracle(world, asked)


def test_percentiles_fallbacks_and_sends_awaiting_their_receipt(database: Engine) -> None:
    people = [Customer("u0", "c1"), Customer("u1", "c2"), Customer("m", "c2", merged_into="u0")]
    world = World(Population(people, [], []))
    at = BASE + dt.timedelta(days=1)
    for i in range(10):  # receipts 1..10 s after their SMS: p50 = 5 s, p90 = 9 s (rank 9)
        sms = Entry(2, at, "s", "attempt", "sms", "accepted")
        receipt = Entry(3, at + dt.timedelta(seconds=i + 1), "s", "receipt", "sms", "delivered")
        world.enrollments[f"r{i}"] = "u0"
        world.trace[f"r{i}"] = [Entry(1, at, "s", "send"), sms, receipt]
    skip = Entry(2, at, "s", "attempt", "wechat_template", "skipped", "no wechat_openid")
    world.enrollments |= {"fallback": "u0", "waiting": "u0"}
    delivered = Entry(3, at, "s", "attempt", "sms", "delivered")
    world.trace["fallback"] = [Entry(1, at, "s", "send"), skip, delivered]
    # Waiting for its receipt: the SMS is in deliveries only, under the merged id.
    world.trace["waiting"] = [Entry(1, at, "s", "send"), skip]
    world.deliveries.append(Delivery("waiting", "s", "sms", at, "accepted", "m"))
    world.consents.append(Consent("u0", "sms", False, at))
    asked = scope_of(("c1",), "Asia/Shanghai")
    with stored(database, world) as s:
        rows = channels_report(s, asked).rows
        assert channels_report(s, scope_of(("c2",), "UTC")).rows == []
    assert rows == oracle(world, asked)
    sms, wechat = rows[0], rows[1]
    assert (sms.channel, sms.attempted, sms.delivered, sms.failed) == ("sms", 12, 11, 0)
    assert (sms.fallbacks, sms.receipts, sms.opt_outs) == (1, 10, 1)
    assert (sms.latency_p50_seconds, sms.latency_p90_seconds) == (5.0, 9.0)
    assert (wechat.channel, wechat.attempted, wechat.skipped["no_identity"]) == (
        "wechat_template",
        0,
        2,
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(latencies=st.lists(st.integers(0, 10**9), min_size=1, max_size=25))
def test_latency_percentiles_are_nearest_ranks(database: Engine, latencies: list[int]) -> None:
    world = World(Population([Customer("u0", "c1")], [], []))
    at = BASE + dt.timedelta(hours=1)
    for i, us in enumerate(latencies):
        done = Entry(2, at + dt.timedelta(microseconds=us), "s", "receipt", "sms", "failed")
        world.enrollments[f"e{i}"] = "u0"
        world.trace[f"e{i}"] = [Entry(1, at, "s", "attempt", "sms", "accepted"), done]
    with stored(database, world) as s:
        (sms,) = channels_report(s, scope_of(("c1",), "Asia/Shanghai")).rows
    ranked, n = sorted(latencies), len(latencies)
    # The k-th smallest, k the least integer with k >= p x n: ceil(n / 2), ceil(9n / 10).
    p50, p90 = ranked[(n + 1) // 2 - 1], ranked[(9 * n + 9) // 10 - 1]
    assert (sms.receipts, sms.failed, sms.delivered) == (n, n, 0)
    assert (sms.latency_p50_seconds, sms.latency_p90_seconds) == (p50 / 10**6, p90 / 10**6)
