"""More enrollments of one journey for the journey-metrics benchmark, written through
the store methods the journey activities use.

The demo data enrolls a few thousand parents in ``school_screening_parents`` at 100,000
customers; the benchmark wants a journey with 100,000 enrollments. These are played
like the demo's (a WeCom tip with an SMS fallback, a week to book, a split between a
call and a holdout, a goal within 30 days), seeded, spread over the demo's 180 days,
for customers of the population taken in turn, each under an id of its own
(``bench:<journey>:<n>``); the newest are still running.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Engine, func, select

from engine.contracts.journey import EnrollmentStatusName, TraceEntry
from engine.store.records import DeliveryRecord, EnrollmentRecord, HandoffTask
from engine.store.sql import SqlStore
from engine.store.sql.tables import CustomerRow, EnrollmentRow

__all__ = ["JOURNEY", "top_up"]

JOURNEY = "school_screening_parents"
_DAYS = 180


class _Play:
    """One enrollment as the interpreter would have stored it: the store calls, in order,
    to make afterwards (drawing first keeps the draws in one order however many threads
    then write)."""

    def __init__(self, store: SqlStore, record: EnrollmentRecord, rng: random.Random) -> None:
        self.store, self.record, self.rng = store, record, rng
        self.pending: list[TraceEntry] = []
        self.seq = 0
        self.writes: list[Callable[[], object]] = [partial(store.record_enrollment, record)]

    def add(self, at: datetime, step: str, kind: str, **fields: str) -> None:
        self.seq += 1
        self.pending.append(TraceEntry(seq=self.seq, at=at, step=step, kind=kind, **fields))

    def take(self) -> list[TraceEntry]:
        entries, self.pending = self.pending, []
        return entries

    def attempt(self, at: datetime, channel: str, delivered: bool) -> datetime:
        """An accepted send and its receipt; when the receipt came (or the timeout)."""
        key = f"{self.record.id}:tip:{channel}:1.0"
        self.add(at, "tip", "attempt", channel=channel, outcome="accepted", detail="0 ok")
        delivery = DeliveryRecord(
            key=key,
            enrollment_id=self.record.id,
            step="tip",
            channel=channel,
            at=at,
            customer_id=self.record.customer_id,
            # Stored as the provider answered it: one write instead of begin and end.
            status="done",
            outcome="accepted",
            detail="0 ok",
            provider_ref=key[-20:],
        )
        self.writes.append(partial(self.store.begin_delivery, delivery, trace=self.take()))
        later = at + timedelta(minutes=self.rng.randrange(1, 600))
        outcome = "delivered" if delivered else "timeout"
        self.add(later, "tip", "receipt", channel=channel, outcome=outcome)
        return later

    def call(self, at: datetime, booked: bool) -> datetime:
        """The optometrist's call: a task created, done with its outcome."""
        task = HandoffTask(
            id=f"T-{self.record.id}",
            enrollment_id=self.record.id,
            customer_id=self.record.customer_id,
            journey_id=JOURNEY,
            step="call",
            queue="optometrist",
            created_at=at,
            due_at=at + timedelta(days=1),
            # Stored done, as staff left it: one write instead of create and complete.
            status="done",
            outcome="booked" if booked else "not_interested",
        )
        self.add(at, "call", "handoff", outcome="created", detail=task.id)
        self.writes.append(partial(self.store.create_task, task, trace=self.take()))
        return at + timedelta(minutes=self.rng.randrange(30, 3000))


def _play(
    store: SqlStore, record: EnrollmentRecord, rng: random.Random, anchor: datetime
) -> list[Callable[[], object]]:
    """The writes of one enrollment: tip (WeCom, else SMS), a week to book, the split,
    the call; one that started in the last five weeks is still waiting to book."""
    p = _Play(store, record, rng)
    start = record.started_at
    p.add(start, "first_touch", "wait")
    p.add(start + timedelta(hours=10), "tip", "send", detail="parent_tip")
    at = p.attempt(start + timedelta(hours=10), "wecom", rng.random() < 0.7)
    if p.pending[-1].outcome != "delivered":
        at = p.attempt(at, "sms", True)
    p.add(at, "give_time", "wait_for", event="appointment.booked")
    if start > anchor - timedelta(days=35):
        p.writes.append(partial(store.append_trace, record.id, p.take()))
        return p.writes
    status: EnrollmentStatusName = "completed"
    reason, variant = "nurtured", None
    if rng.random() < 0.10:
        at += timedelta(hours=rng.randrange(1, 160))
        p.add(at, "give_time", "goal", event="appointment.booked")
        status, reason = "converted", "goal"
    else:
        at += timedelta(days=7)
        p.add(at, "give_time", "timeout")
        variant = "holdout" if rng.random() < 0.2 else "call"
        p.add(at, "split_call", "split", variant=variant)
        if variant == "call":
            booked = rng.random() < 0.16
            at = p.call(at, booked)
            p.add(at, "call", "handoff", outcome="booked" if booked else "not_interested")
            if booked:
                status, reason = "converted", "goal"
        elif rng.random() < 0.10:
            at += timedelta(days=rng.randrange(1, 20))
            status, reason = "converted", "goal"
        else:
            at = start + timedelta(days=30)
            status, reason = "exited", "holdout"
    finish = partial(store.finish_enrollment, record.id, status, reason, variant, at)
    p.writes.append(partial(finish, trace=p.take()))
    return p.writes


def _write(writes: list[Callable[[], object]]) -> None:
    for write in writes:
        write()


def top_up(
    store: SqlStore, engine: Engine, target: int, anchor: datetime, seed: int = 1, threads: int = 1
) -> int:
    """Add enrollments of :data:`JOURNEY` until it has ``target``; how many were added.
    ``threads`` write enrollments side by side (PostgreSQL; SQLite has one writer)."""
    with engine.connect() as conn:
        have = conn.scalar(
            select(func.count())
            .select_from(EnrollmentRow)
            .where(EnrollmentRow.journey_id == JOURNEY)
        )
        version = conn.scalar(
            select(func.max(EnrollmentRow.version)).where(EnrollmentRow.journey_id == JOURNEY)
        )
        customers = list(
            conn.scalars(
                select(CustomerRow.id)
                .where(CustomerRow.merged_into.is_(None))
                .order_by(CustomerRow.id)
            )
        )
    missing = max(target - int(have or 0), 0)
    rng = random.Random(seed)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        waiting: list[Future[None]] = []
        for n in range(missing):
            record = EnrollmentRecord(
                id=f"bench:{JOURNEY}:{n}",
                journey_id=JOURNEY,
                version=int(version or 1),
                customer_id=customers[n % len(customers)],
                started_at=anchor - timedelta(seconds=rng.randrange(2 * 86400, _DAYS * 86400)),
            )
            waiting.append(pool.submit(_write, _play(store, record, rng, anchor)))
            if (n + 1) % 5000 == 0 or n + 1 == missing:
                for done in waiting:
                    done.result()
                waiting = []
                rate = (n + 1) / (time.perf_counter() - started)
                print(f"  enrollments: {n + 1:,}/{missing:,} ({rate:.0f}/s)", flush=True)
    return missing
