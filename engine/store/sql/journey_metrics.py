"""A journey's metrics as aggregate queries over one cohort of enrollments.

Statuses are a GROUP BY over ``enrollments`` (the cohort: journey, version, entry
range, clinics), handoffs over ``handoff_tasks``. The trace's figures (reached steps,
send attempts and receipts, fallbacks, the arm each split drew) come from
``journey_tallies`` for the whole entry days (UTC) of the range (``engine.store.sql.tallies``
keeps them as the trace is written), or ``journey_clinic_tallies`` for a clinic-filtered
cohort (``engine.store.sql.clinic_tallies``), and from GROUP BYs over the ``trace`` rows
of the rest: the part of a day at either end of a range that does not fall on whole UTC
days, and clinics the tallies do not keep apart. Trace fields without a column
(channel, outcome, variant) are read from the JSON payload, which SQLite and PostgreSQL
both extract. No enrollment is loaded into Python. A clinic filter reads the
enrollments' recorded clinic (``ix_enrollments_clinic_journey``), or for clinics the
tallies do not keep apart finds the customers through ``ix_customers_clinic``
(``customer_clinic``); a filtered cohort with no enrollment reads no trace at all: most
journeys, for a clinic's staff.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    distinct,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from engine.store.metrics import Cohort, JourneyCounts, StatusCount
from engine.store.sql.attributes import customer_clinic
from engine.store.sql.clinic_tallies import kept_exactly
from engine.store.sql.common import SqlPart
from engine.store.sql.journey_figures import Figures
from engine.store.sql.journey_tallied import add_tallied
from engine.store.sql.sends import NOT_TRIED, skip_reason, trace_text, tried_before
from engine.store.sql.tables import CustomerRow, EnrollmentRow, TaskRow, TraceRow
from engine.store.sql.tallies import entry_day


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
    if cohort.clinics is not None and kept_exactly(cohort.clinics):
        # The clinic each enrollment's figures are kept under: its customer's now
        # (engine.store.sql.clinic_tallies), read from ix_enrollments_clinic_journey.
        found.append(EnrollmentRow.clinic.in_(list(cohort.clinics)))
    elif cohort.clinics is not None:
        # A customer's clinic is its clinic_id attribute (engine.store.access); merged
        # customers' enrollments move to the survivor, whose attribute decides.
        allowed = select(CustomerRow.id).where(customer_clinic().in_(list(cohort.clinics)))
        found.append(EnrollmentRow.customer_id.in_(allowed))
    return found


class JourneyMetricsPart(SqlPart):
    def journey_counts(
        self, cohort: Cohort, now: datetime, running_at: Mapping[str, str]
    ) -> JourneyCounts:
        """The cohort's statuses, per-step figures and split arms, in one read;
        ``running_at`` (running enrollment id -> its current step, from Temporal's
        visibility) gives "waiting now" for those of the cohort."""
        figures = Figures()
        with self._analytic_read() as s:
            # The enrollment rows read with the version filter left out when no enrollment
            # of the journey has another version (a journey deployed once): the same
            # rows, read without testing each one. The tallies keep the version asked.
            rows = _loosened(s, cohort)
            statuses = _statuses(s, rows)
            # No enrollment in the cohort: nothing of it in the trace or among the tasks
            # of its enrollments (a staff user's clinics in most journeys). The tallies
            # are still read: they count entries whose enrollment row is not stored yet.
            found = bool(statuses) or not _filtered(rows)
            for step in _waiting(s, rows, running_at) if found else []:
                figures.at(step).waiting_now += 1
            for part in _parts(cohort):
                if not isinstance(part, Cohort):
                    # A clinic's tallies hold recorded enrollments only: none without them.
                    if cohort.clinics is None or statuses:
                        add_tallied(
                            s, cohort.journey_id, cohort.version, part, figures, cohort.clinics
                        )
                elif statuses:
                    # The loosening is the journey's and version's: the same for every part.
                    loose = part.model_copy(update={"version": rows.version})
                    _add_traced(s, cohort_ids(loose), figures)
            if found:
                _handoffs(s, rows, now, figures)
        return JourneyCounts(statuses=statuses, steps=figures.steps, arms=figures.arms())

    def waiting_steps(self, cohort: Cohort, running_at: Mapping[str, str]) -> list[str]:
        """The current steps of the cohort's running enrollments (``running_at``, as for
        :meth:`journey_counts`), without the rest of its figures."""
        with self._analytic_read() as s:
            return _waiting(s, cohort, running_at)


Days = tuple[datetime | None, datetime | None]


def _parts(cohort: Cohort) -> list[Cohort | Days]:
    """Where each part of the cohort's figures comes from: the tallies (per clinic for
    a clinic filter) for the whole UTC entry days of its range, the trace for the part
    of a day at either end (a day in Asia/Shanghai starts at 16:00 UTC) and for clinics
    the tallies do not keep apart (``kept_exactly``)."""
    since, until = cohort.since, cohort.until
    first = None if since is None else entry_day(since + (DAY - _TICK))
    last = None if until is None else entry_day(until)
    if cohort.clinics is not None and not kept_exactly(cohort.clinics):
        return [cohort]
    if first is not None and last is not None and first >= last:
        return [cohort]
    parts: list[Cohort | Days] = [(first, last)]
    if since is not None and first is not None and since < first:
        parts.append(cohort.model_copy(update={"until": first}))
    if until is not None and last is not None and last < until:
        parts.append(cohort.model_copy(update={"since": last}))
    return parts


DAY, _TICK = timedelta(days=1), timedelta(microseconds=1)
_CHUNK = 500  # ids per IN list


def _loosened(s: Session, cohort: Cohort) -> Cohort:
    """The cohort without its version when every enrollment of the journey has that
    version (and there is one): two probes of ``ix_enrollments_journey_id_version``."""
    if cohort.version is None:
        return cohort
    journey = EnrollmentRow.journey_id == cohort.journey_id
    # Two probes: min() and max() alone are read from the index's ends.
    lowest = s.scalar(select(func.min(EnrollmentRow.version)).where(journey))
    highest = s.scalar(select(func.max(EnrollmentRow.version)).where(journey))
    only = lowest == highest == cohort.version
    return cohort.model_copy(update={"version": None}) if only else cohort


def _filtered(cohort: Cohort) -> bool:
    """Whether the cohort is less than every enrollment of the journey."""
    whole = cohort.model_dump(include={"version", "since", "until", "clinics"})
    return any(v is not None for v in whole.values())


def _waiting(s: Session, cohort: Cohort, running_at: Mapping[str, str]) -> list[str]:
    """The current steps of the running enrollments that belong to the cohort."""
    if not _filtered(cohort):
        return list(running_at.values())  # every enrollment of the journey
    if len(running_at) <= _CHUNK:
        return [running_at[e] for e in _of_cohort(s, cohort, list(running_at))]
    # Many running (17,919 of a school-screening journey: 36 lookups of 500 ids): the
    # cohort's running enrollments in one read of its index, kept where Temporal lists them.
    mine = s.scalars(cohort_ids(cohort).where(EnrollmentRow.status == "running"))
    return [running_at[e] for e in mine if e in running_at]


def _add_traced(s: Session, mine: Select[str], figures: Figures) -> None:
    """Reached steps, sends, fallbacks and split arms read from the trace."""
    reached = (
        select(TraceRow.step, func.count(distinct(TraceRow.enrollment_id)))
        .where(TraceRow.enrollment_id.in_(mine), TraceRow.step.is_not(None))
        .group_by(TraceRow.step)
    )
    for step, n in s.execute(reached):
        figures.at(step or "").reached += n
    _sends(s, mine, figures)
    _arms(s, mine, figures)


def _of_cohort(s: Session, cohort: Cohort, ids: list[str]) -> list[str]:
    """Those of ``ids`` in the cohort."""
    found: list[str] = []
    for i in range(0, len(ids), _CHUNK):  # bounded IN lists on every database
        stmt = cohort_ids(cohort).where(EnrollmentRow.id.in_(ids[i : i + _CHUNK]))
        found += s.scalars(stmt)
    return found


def _statuses(s: Session, cohort: Cohort) -> list[StatusCount]:
    stmt = (
        select(EnrollmentRow.status, EnrollmentRow.exit_reason, func.count())
        .where(EnrollmentRow.journey_id == cohort.journey_id, *_cohort_filters(cohort))
        .group_by(EnrollmentRow.status, EnrollmentRow.exit_reason)
    )
    # In a fixed order: the database's depends on its plan (an index, or a hash).
    found = [StatusCount(status=st, reason=why, count=n) for st, why, n in s.execute(stmt)]
    return sorted(found, key=lambda c: (c.status, c.reason or ""))


def _sends(s: Session, mine: Select[str], figures: Figures) -> None:
    """Attempts and receipts per step and channel; skips by reason; fallbacks, counted
    in the same read of the cohort's trace."""
    channel, outcome, detail = _text("channel"), _text("outcome"), _text("detail")
    # The reason only where it is counted (Figures.send: skipped or deferred attempts):
    # the detail of every other row is then neither extracted nor matched.
    skipped = and_(TraceRow.kind == "attempt", outcome.in_(NOT_TRIED))
    reason = case((skipped, skip_reason(outcome, detail)), else_=literal(""))
    stmt = (
        select(
            TraceRow.step,
            TraceRow.kind,
            channel,
            outcome,
            reason,
            func.count(),
            func.sum(_fallback(channel, outcome)),
        )
        .where(
            TraceRow.enrollment_id.in_(mine),
            TraceRow.kind.in_(("attempt", "receipt")),
            TraceRow.step.is_not(None),
        )
        .group_by(TraceRow.step, TraceRow.kind, channel, outcome, reason)
    )
    for step, kind, chan, result, why, n, fell in s.execute(stmt):
        figures.send(step or "", kind, chan or "", result or "", why, n)
        figures.at(step or "").fallbacks += int(fell or 0)


def _fallback(channel: ColumnElement[str], outcome: ColumnElement[str]) -> ColumnElement[int]:
    """1 for a delivery (an attempt or receipt) preceded, in the same visit of the step,
    by an attempt on another channel: a later channel delivered after an earlier one did
    not; 0 otherwise (the earlier attempts are looked up for deliveries only)."""
    before = tried_before(TraceRow.enrollment_id, TraceRow.step, channel, TraceRow.seq)
    return case((outcome == "delivered", case((before, 1), else_=0)), else_=0)


def _handoffs(s: Session, cohort: Cohort, now: datetime, figures: Figures) -> None:
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
        .where(TaskRow.journey_id == cohort.journey_id)
        .group_by(TaskRow.step, TaskRow.status, TaskRow.outcome)
    )
    if _filtered(cohort):
        # Each task's enrollment by its key: testing every task against the set of the
        # cohort's ids (IN) read the whole cohort first, twice as slow on a version
        # of 100,000 enrollments.
        stmt = stmt.join(EnrollmentRow, EnrollmentRow.id == TaskRow.enrollment_id).where(
            *_cohort_filters(cohort)
        )
    for step, status, outcome, n, late, up in s.execute(stmt):
        tasks = figures.at(step).handoffs
        tasks.created += n
        tasks.overdue_now += int(late or 0)
        tasks.escalated += int(up or 0)
        if status == "done":
            key = outcome or "(none)"
            tasks.done[key] = tasks.done.get(key, 0) + n


def _arms(s: Session, mine: Select[str], figures: Figures) -> None:
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
    for step, name, n, converted, running, last in s.execute(stmt):
        figures.arm(step or "", name or "", n, int(converted or 0), int(running or 0), last)
