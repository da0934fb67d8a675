"""Journey tallies: the trace's figures kept per entry hour as the trace is written.

A journey's metrics at 100,000 enrollments would read close to a million trace rows
(``engine.store.sql.journey_metrics`` still does for clinic-filtered cohorts and for the
part of a range that does not cover whole hours). Instead every write of an
enrollment's trace adds to ``journey_tallies`` what changed: its figures after the
write minus its figures before, both computed from its whole trace here. That makes
the tallies exact whatever the order entries arrive in, and a retried write (whose
entries are already stored) adds nothing. ``finish_enrollment`` moves the enrollment's
split arms from its old status to the new one the same way.

The figures are those of the trace queries (``engine.store.sql.sends``): reached steps,
attempts and receipts per channel, outcome and skip reason, fallbacks, and the first
draw of each split step. :func:`figures` is their plain-Python form; the tally tests
compare both paths on generated traces.

An enrollment whose row is not stored yet (its workflow started before
``record_enrollment`` committed) is tallied when the row is recorded. On PostgreSQL the
writes of one enrollment take a transaction-scoped advisory lock on its id so that the
two cannot pass each other.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.store.sql.db import Sessions
from engine.store.sql.sends import NOT_TRIED, OTHER, QUIET_HOURS, SKIP_REASONS
from engine.store.sql.tables import EnrollmentRow, TallyRow, TraceRow

__all__ = ["Fact", "Key", "figures", "lock_enrollment", "retally", "tally_recorded"]

#: (step, measure, channel, outcome, reason): one tally row of an entry hour.
Key = tuple[str, str, str, str, str]
_WIDTH = 64  # the key columns' width
_PRIMARY_KEY = ["journey_id", "version", "hour", "step", "measure", "channel", "outcome", "reason"]


@dataclass(frozen=True)
class Fact:
    """A stored trace entry, as far as the tallies read it."""

    seq: int
    step: str | None
    kind: str
    channel: str | None = None
    outcome: str | None = None
    detail: str | None = None
    variant: str | None = None

    @classmethod
    def of(cls, seq: int, step: str | None, kind: str, payload: dict[str, Any]) -> Fact:
        def text(name: str) -> str | None:
            value = payload.get(name)
            return None if value is None else str(value)

        return cls(
            seq, step, kind, text("channel"), text("outcome"), text("detail"), text("variant")
        )


@cache
def _pattern(like: str) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in like)
    return re.compile("".join(parts), re.DOTALL)


def skip_reason(outcome: str | None, detail: str | None) -> str:
    """:func:`engine.store.sql.sends.skip_reason`, in Python."""
    if outcome == "deferred":
        return QUIET_HOURS
    if detail is None:
        return OTHER
    lowered = detail.lower()
    return next((n for p, n in SKIP_REASONS if _pattern(p).fullmatch(lowered)), OTHER)


def _key(step: str, measure: str, channel: str = "", outcome: str = "", reason: str = "") -> Key:
    return (step, measure, channel[:_WIDTH], outcome[:_WIDTH], reason[:_WIDTH])


def figures(facts: Iterable[Fact], status: str) -> Counter[Key]:
    """One enrollment's figures, from its whole trace and its status."""
    found: Counter[Key] = Counter()
    drawn: set[str] = set()
    visit: list[Fact] = []  # the attempts since the last ``send`` entry
    for fact in sorted(facts, key=lambda f: f.seq):
        if fact.kind == "send":
            visit = []
        step = fact.step
        if step is None:
            continue
        found[_key(step, "reached")] = 1
        if fact.kind == "split" and step not in drawn:
            drawn.add(step)
            found[_key(step, "arm", fact.variant or "", status)] += 1
        if fact.kind not in ("attempt", "receipt"):
            continue
        reason = ""
        if fact.kind == "attempt" and fact.outcome in NOT_TRIED:
            reason = skip_reason(fact.outcome, fact.detail)
        found[_key(step, fact.kind, fact.channel or "", fact.outcome or "", reason)] += 1
        if fact.outcome == "delivered" and _after_another(fact, visit):
            found[_key(step, "fallback")] += 1
        if fact.kind == "attempt":
            visit.append(fact)
    return found


def _after_another(fact: Fact, visit: list[Fact]) -> bool:
    """An attempt on another channel earlier in the same visit of the step."""
    if fact.channel is None:
        return False
    return any(
        e.step == fact.step and e.channel is not None and e.channel != fact.channel for e in visit
    )


def lock_enrollment(db: Sessions, s: Session, enrollment_id: str) -> None:
    """PostgreSQL: hold the enrollment's advisory lock until the transaction ends."""
    if db.dialect == "postgresql":
        s.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(enrollment_id, 0))))


def _facts(s: Session, enrollment_id: str) -> list[Fact]:
    stmt = select(TraceRow.seq, TraceRow.step, TraceRow.kind, TraceRow.payload).where(
        TraceRow.enrollment_id == enrollment_id
    )
    return [Fact.of(seq, step, kind, payload or {}) for seq, step, kind, payload in s.execute(stmt)]


def retally(
    db: Sessions,
    s: Session,
    row: EnrollmentRow | None,
    added: set[int],
    was: str | None = None,
) -> None:
    """Add what the enrollment's figures gained: its trace with the entries of seqs
    ``added`` (just inserted) and its status now, minus its trace without them and its
    status ``was`` (default: unchanged). Nothing for an enrollment not recorded yet."""
    if row is None or (not added and (was is None or was == row.status)):
        return
    facts = _facts(s, row.id)
    before = figures((f for f in facts if f.seq not in added), was or row.status)
    after = figures(facts, row.status)
    after.subtract(before)
    _add(db, s, row, {k: n for k, n in after.items() if n})


def tally_recorded(db: Sessions, s: Session, enrollment_id: str) -> None:
    """A newly recorded enrollment: tally whatever trace was stored before its row."""
    row = s.get(EnrollmentRow, enrollment_id)
    if row is None:
        return
    facts = _facts(s, enrollment_id)
    if facts:
        _add(db, s, row, dict(figures(facts, row.status)))


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _add(db: Sessions, s: Session, row: EnrollmentRow, deltas: dict[Key, int]) -> None:
    """Upsert the deltas into the enrollment's entry hour, in key order (no deadlocks)."""
    if not deltas:
        return
    hour = _hour(row.started_at)
    values = [
        {
            "journey_id": row.journey_id,
            "version": row.version,
            "hour": hour,
            "step": step,
            "measure": measure,
            "channel": channel,
            "outcome": outcome,
            "reason": reason,
            "n": n,
            "last_at": row.started_at if measure == "arm" and n > 0 else None,
        }
        for (step, measure, channel, outcome, reason), n in sorted(deltas.items())
    ]
    stmt = db.insert(TallyRow).values(values)
    latest = func.max if db.dialect == "sqlite" else func.greatest
    stmt = stmt.on_conflict_do_update(
        index_elements=_PRIMARY_KEY,
        set_={
            "n": TallyRow.n + stmt.excluded.n,
            "last_at": func.coalesce(
                latest(TallyRow.last_at, stmt.excluded.last_at),
                TallyRow.last_at,
                stmt.excluded.last_at,
            ),
        },
    )
    s.execute(stmt)
