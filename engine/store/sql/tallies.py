"""Journey tallies: the trace's figures kept per entry day as the trace is written.

A journey's metrics at 100,000 enrollments would read close to a million trace rows
(``engine.store.sql.journey_metrics`` still does for the part of a range that does not
cover whole UTC days). Instead every write of an enrollment's trace adds to
``journey_tallies``, and to ``journey_clinic_tallies`` under the enrollment's clinic
(``engine.store.sql.clinic_tallies``), what changed: its figures after the
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
writes of one enrollment take turns: a trace write locks the enrollment's row first, or
when there is none yet, a transaction-scoped advisory lock on its id, which
``record_enrollment`` takes too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import Insert, Row, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.contracts.journey import TraceEntry
from engine.store.sql.db import Sessions
from engine.store.sql.sends import NOT_TRIED, OTHER, QUIET_HOURS, SKIP_REASONS
from engine.store.sql.tables import ClinicTallyRow, EnrollmentRow, TallyRow, TraceRow

__all__ = [
    "Enrolled",
    "Fact",
    "KEY_WIDTH",
    "Key",
    "add_figures",
    "enrolled",
    "enrolled_rows",
    "entry_day",
    "figures",
    "lock_enrollment",
    "retally",
    "tally_recorded",
]

#: (step, measure, channel, outcome, reason): one tally row of an entry day.
Key = tuple[str, str, str, str, str]
KEY_WIDTH = 64  # the key columns' width
_PRIMARY_KEY = ["journey_id", "version", "day", "step", "measure", "channel", "outcome", "reason"]


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

    @classmethod
    def entry(cls, e: TraceEntry) -> Fact:
        """A trace entry being written."""
        return cls(e.seq, e.step, e.kind, e.channel, e.outcome, e.detail, e.variant)


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
    return (step, measure, channel[:KEY_WIDTH], outcome[:KEY_WIDTH], reason[:KEY_WIDTH])


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


class Enrolled(NamedTuple):
    """What the tallies need of an enrollment: its row and its stored trace."""

    id: str
    journey_id: str
    version: int
    started_at: datetime
    status: str
    trace: tuple[Fact, ...] = ()
    clinic: str = ""  # where its figures are kept per clinic (``EnrollmentRow.clinic``)


_ENROLLMENTS = cast(Table, EnrollmentRow.__table__)
_TRACE = cast(Table, TraceRow.__table__)
#: The enrollment's row and its trace, in one round trip.
_ENROLLED = (
    select(
        _ENROLLMENTS.c.id,
        _ENROLLMENTS.c.journey_id,
        _ENROLLMENTS.c.version,
        _ENROLLMENTS.c.started_at,
        _ENROLLMENTS.c.status,
        _ENROLLMENTS.c.clinic,
        _TRACE.c.seq,
        _TRACE.c.step,
        _TRACE.c.kind,
        _TRACE.c.payload,
    )
    .select_from(_ENROLLMENTS.outerjoin(_TRACE, _TRACE.c.enrollment_id == _ENROLLMENTS.c.id))
    .where(_ENROLLMENTS.c.id == bindparam("id"))
)


def enrolled(db: Sessions, s: Session, enrollment_id: str) -> Enrolled | None:
    """The enrollment with its stored trace, its row locked until the transaction ends
    (PostgreSQL) so that two writes of its trace take turns; None when it is not
    recorded yet, with its advisory lock held so that ``record_enrollment`` waits."""
    if db.dialect != "postgresql":
        return _read(s, enrollment_id)
    stmt = _ENROLLED.with_for_update(of=_ENROLLMENTS)
    rows = s.connection().execute(stmt, {"id": enrollment_id}).all()
    if not rows:
        lock_enrollment(db, s, enrollment_id)
        rows = s.connection().execute(stmt, {"id": enrollment_id}).all()
    return _enrolled(rows)


def enrolled_rows(s: Session, ids: Iterable[str]) -> list[Enrolled]:
    """These recorded enrollments with their stored traces (locked by the caller)."""
    found = (_read(s, i) for i in ids)
    return [e for e in found if e is not None]


def _read(s: Session, enrollment_id: str) -> Enrolled | None:
    return _enrolled(s.connection().execute(_ENROLLED, {"id": enrollment_id}).all())


def _enrolled(rows: Sequence[Row[*tuple[Any, ...]]]) -> Enrolled | None:
    if not rows:
        return None
    first = rows[0]
    trace = tuple(
        Fact.of(r.seq, r.step, r.kind, r.payload or {}) for r in rows if r.seq is not None
    )
    return Enrolled(
        first.id,
        first.journey_id,
        first.version,
        first.started_at,
        first.status,
        trace,
        first.clinic,
    )


def retally(
    db: Sessions, s: Session, enrollment: Enrolled | None, new: list[Fact], was: str | None = None
) -> None:
    """Add what the enrollment's figures gained: its stored trace with ``new`` (the
    entries just inserted) and its status now, minus its stored trace and its status
    ``was`` (default: unchanged). Nothing for an enrollment not recorded yet."""
    if enrollment is None or (not new and (was is None or was == enrollment.status)):
        return
    before = figures(enrollment.trace, was or enrollment.status)
    after = figures([*enrollment.trace, *new], enrollment.status)
    after.subtract(before)
    _add(db, s, enrollment, {k: n for k, n in after.items() if n})


def tally_recorded(db: Sessions, s: Session, enrollment_id: str) -> None:
    """A newly recorded enrollment: tally whatever trace was stored before its row."""
    enrollment = _read(s, enrollment_id)
    if enrollment is not None and enrollment.trace:
        _add(db, s, enrollment, dict(figures(enrollment.trace, enrollment.status)))


def entry_day(at: datetime) -> datetime:
    """The first instant of the UTC day ``at`` lies in: the tallies' bucket."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _add(db: Sessions, s: Session, row: Enrolled, deltas: dict[Key, int]) -> None:
    """Upsert the deltas into the enrollment's entry day, for the journey and for its
    clinic, in key order (no deadlocks)."""
    add_figures(db.dialect, s, row, deltas, None)
    add_figures(db.dialect, s, row, deltas, row.clinic)


def add_figures(
    dialect: str, s: Session, row: Enrolled, deltas: dict[Key, int], clinic: str | None
) -> None:
    """Upsert the deltas into ``journey_tallies`` (``clinic`` None) or into the clinic's
    ``journey_clinic_tallies`` (nothing for ``""``: customers without a clinic, whose
    figures nobody asks for by clinic)."""
    if not deltas or clinic == "":
        return
    day = entry_day(row.started_at)
    where = {} if clinic is None else {"clinic": clinic}
    values = [
        {
            "journey_id": row.journey_id,
            "version": row.version,
            **where,
            "day": day,
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
    s.connection().execute(_upsert(dialect, clinic is not None), values)


@cache
def _upsert(dialect: str, per_clinic: bool) -> Insert:
    """One statement per dialect and table, executed with many rows (compiled once)."""
    table = cast(Table, (ClinicTallyRow if per_clinic else TallyRow).__table__)
    stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    latest = func.greatest if dialect == "postgresql" else func.max
    keys = _PRIMARY_KEY[:2] + ["clinic"] + _PRIMARY_KEY[2:] if per_clinic else _PRIMARY_KEY
    return stmt.on_conflict_do_update(
        index_elements=keys,
        set_={
            "n": table.c.n + stmt.excluded.n,
            "last_at": func.coalesce(
                latest(table.c.last_at, stmt.excluded.last_at),
                table.c.last_at,
                stmt.excluded.last_at,
            ),
        },
    )
