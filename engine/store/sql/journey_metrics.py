"""A journey's metrics as aggregate queries over one cohort of enrollments.

Every figure is a GROUP BY over ``enrollments`` (the cohort: journey, version, entry
range), its ``trace`` (reached steps, send attempts and receipts, the arm each split
drew) and ``handoff_tasks``; no enrollment is loaded into Python. Trace fields without
a column (channel, outcome, variant) are read from the JSON payload, which SQLite and
PostgreSQL both extract.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from engine.store.metrics import (
    ArmCount,
    ChannelSends,
    Cohort,
    JourneyCounts,
    StatusCount,
    StepFigures,
)
from engine.store.sql.common import SqlPart
from engine.store.sql.sends import FAILED, NOT_TRIED, skip_reason, trace_text, tried_before
from engine.store.sql.tables import CustomerRow, EnrollmentRow, TaskRow, TraceRow


def _text(field: str) -> ColumnElement[str]:
    return trace_text(field)


def cohort_ids(cohort: Cohort) -> Select[str]:
    """The ids of the cohort's enrollments, as a subquery to filter by."""
    stmt = select(EnrollmentRow.id).where(EnrollmentRow.journey_id == cohort.journey_id)
    return stmt.where(*_cohort_filters(cohort))


def _cohort_filters(cohort: Cohort) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if cohort.version is not None:
        found.append(EnrollmentRow.version == cohort.version)
    if cohort.since is not None:
        found.append(EnrollmentRow.started_at >= cohort.since)
    if cohort.until is not None:
        found.append(EnrollmentRow.started_at < cohort.until)
    if cohort.clinics is not None:
        # A customer's clinic is its clinic_id attribute (engine.store.access); merged
        # customers' enrollments move to the survivor, whose attribute decides.
        clinic = CustomerRow.attributes["clinic_id"].as_string()
        allowed = select(CustomerRow.id).where(clinic.in_(list(cohort.clinics)))
        found.append(EnrollmentRow.customer_id.in_(allowed))
    return found


class JourneyMetricsPart(SqlPart):
    def journey_counts(
        self, cohort: Cohort, now: datetime, running_at: Mapping[str, str]
    ) -> JourneyCounts:
        """The cohort's statuses, per-step figures and split arms, in one read;
        ``running_at`` (running enrollment id -> its current step, from Temporal's
        visibility) gives "waiting now" for those of the cohort."""
        mine = cohort_ids(cohort)
        with self._db.read() as s, s.begin():
            statuses = _statuses(s, cohort)
            steps: dict[str, StepFigures] = {}

            def at(step: str) -> StepFigures:
                return steps.setdefault(step, StepFigures())

            for enrollment_id in _of_cohort(s, cohort, list(running_at)):
                at(running_at[enrollment_id]).waiting_now += 1

            reached = (
                select(TraceRow.step, func.count(distinct(TraceRow.enrollment_id)))
                .where(TraceRow.enrollment_id.in_(mine), TraceRow.step.is_not(None))
                .group_by(TraceRow.step)
            )
            for step, n in s.execute(reached):
                at(step or "").reached = n
            _sends(s, mine, at)
            _handoffs(s, cohort, mine, now, at)
            arms = _arms(s, mine)
        return JourneyCounts(statuses=statuses, steps=steps, arms=arms)


def _of_cohort(s: Session, cohort: Cohort, ids: list[str]) -> list[str]:
    """Those of ``ids`` in the cohort."""
    found: list[str] = []
    for i in range(0, len(ids), 500):  # bounded IN lists on every database
        stmt = cohort_ids(cohort).where(EnrollmentRow.id.in_(ids[i : i + 500]))
        found += s.scalars(stmt)
    return found


def _statuses(s: Session, cohort: Cohort) -> list[StatusCount]:
    stmt = (
        select(EnrollmentRow.status, EnrollmentRow.exit_reason, func.count())
        .where(EnrollmentRow.journey_id == cohort.journey_id, *_cohort_filters(cohort))
        .group_by(EnrollmentRow.status, EnrollmentRow.exit_reason)
    )
    return [StatusCount(status=st, reason=why, count=n) for st, why, n in s.execute(stmt)]


def _sends(s: Session, mine: Select[str], at: Any) -> None:
    """Attempts and receipts per step and channel; skips by reason; fallbacks."""
    channel, outcome, detail = _text("channel"), _text("outcome"), _text("detail")
    reason = skip_reason(outcome, detail)
    stmt = (
        select(TraceRow.step, TraceRow.kind, channel, outcome, reason, func.count())
        .where(
            TraceRow.enrollment_id.in_(mine),
            TraceRow.kind.in_(("attempt", "receipt")),
            TraceRow.step.is_not(None),
        )
        .group_by(TraceRow.step, TraceRow.kind, channel, outcome, reason)
    )
    for step, kind, chan, result, why, n in s.execute(stmt):
        sends = at(step).sends.setdefault(chan or "", ChannelSends())
        if kind == "attempt" and result in NOT_TRIED:
            sends.skipped[why] = sends.skipped.get(why, 0) + n
            continue
        if kind == "attempt":
            sends.attempted += n
        if result == "delivered":
            sends.delivered += n
        elif result in FAILED:
            sends.failed += n
    for step, n in s.execute(_fallbacks(mine)):
        at(step).fallbacks = n


def _fallbacks(mine: Select[str]) -> Select[str | None, int]:
    """Deliveries (attempts or receipts) preceded, in the same visit of the step, by an
    attempt on another channel: a later channel delivered after an earlier one did not."""
    before = tried_before(TraceRow.enrollment_id, TraceRow.step, _text("channel"), TraceRow.seq)
    return (
        select(TraceRow.step, func.count())
        .where(
            TraceRow.enrollment_id.in_(mine),
            TraceRow.kind.in_(("attempt", "receipt")),
            _text("outcome") == "delivered",
            before,
        )
        .group_by(TraceRow.step)
    )


def _handoffs(s: Session, cohort: Cohort, mine: Select[str], now: datetime, at: Any) -> None:
    open_now = TaskRow.status.in_(("open", "claimed", "escalated"))
    overdue = and_(open_now, TaskRow.due_at.is_not(None), TaskRow.due_at < now)
    escalated = or_(TaskRow.status == "escalated", TaskRow.escalated_to.is_not(None))
    stmt = (
        select(
            TaskRow.step,
            TaskRow.status,
            TaskRow.outcome,
            func.count(),
            func.sum(case((overdue, 1), else_=0)),
            func.sum(case((escalated, 1), else_=0)),
        )
        .where(TaskRow.journey_id == cohort.journey_id, TaskRow.enrollment_id.in_(mine))
        .group_by(TaskRow.step, TaskRow.status, TaskRow.outcome)
    )
    for step, status, outcome, n, late, up in s.execute(stmt):
        tasks = at(step).handoffs
        tasks.created += n
        tasks.overdue_now += int(late or 0)
        tasks.escalated += int(up or 0)
        if status == "done":
            key = outcome or "(none)"
            tasks.done[key] = tasks.done.get(key, 0) + n


def _arms(s: Session, mine: Select[str]) -> dict[str, list[ArmCount]]:
    """Per split step and arm: entrants, converted, running, latest entry. An
    enrollment that passed a split twice (a loop) counts once, in its first draw."""
    first = (
        select(TraceRow.enrollment_id, TraceRow.step, func.min(TraceRow.seq).label("seq"))
        .where(TraceRow.enrollment_id.in_(mine), TraceRow.kind == "split")
        .group_by(TraceRow.enrollment_id, TraceRow.step)
        .subquery()
    )
    variant = _text("variant")
    stmt = (
        select(
            TraceRow.step,
            variant,
            func.count(),
            func.sum(case((EnrollmentRow.status == "converted", 1), else_=0)),
            func.sum(case((EnrollmentRow.status == "running", 1), else_=0)),
            func.max(EnrollmentRow.started_at),
        )
        .join(
            first,
            and_(
                first.c.enrollment_id == TraceRow.enrollment_id,
                first.c.step == TraceRow.step,
                first.c.seq == TraceRow.seq,
            ),
        )
        .join(EnrollmentRow, EnrollmentRow.id == TraceRow.enrollment_id)
        .group_by(TraceRow.step, variant)
    )
    arms: dict[str, list[ArmCount]] = {}
    for step, name, n, converted, running, last in s.execute(stmt):
        arm = ArmCount(
            variant=name or "",
            entered=n,
            converted=int(converted or 0),
            running=int(running or 0),
            last_entry=last,
        )
        arms.setdefault(step or "", []).append(arm)
    return arms
