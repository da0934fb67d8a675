"""The channels report: every try of a channel in the range, what came of it, and the
consent withdrawals per channel.

A try is an ``attempt`` entry of an enrollment's trace (``engine.store.sql.sends``), at
its time. It is settled by a receipt when the enrollment's next attempt-or-receipt
entry is the ``receipt`` of the same step and channel (other entries, such as a context
update, may come between). The trace of a running enrollment is written with its next
activity, so a provider call still waiting for its receipt (or for the enrollment's
next step) is in ``deliveries`` only: a delivery with no provider-call attempt of the
same enrollment, step and channel at or after its time is a try of its own, at the
delivery's time, with the delivery's outcome. Each try is counted once, from one of the
two. A trace entry's customer is its enrollment's (a merge moves enrollments); a
delivery's is its ``customer_id`` or, when that customer was merged, the survivor.

One statement: the figures per channel and reason, the receipt latencies'
percentiles per channel (nearest rank, by window functions), and the opt-outs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    SQLColumnExpression,
    Subquery,
    and_,
    case,
    distinct,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from engine.models.reports.channels import ChannelRow, ChannelsReport
from engine.models.reports.scope import NONE, ReportScope
from engine.store.sql.reports.query import clinic_of, epoch_us, in_scope, within_range
from engine.store.sql.sends import (
    FAILED,
    NOT_TRIED,
    delivered_after_fallback,
    skip_reason,
    trace_text,
)
from engine.store.sql.tables import ConsentRow, CustomerRow, DeliveryRow, EnrollmentRow, TraceRow

#: Receipt outcomes that are a provider's answer (``timeout``: none came).
_ANSWERS = ("delivered", "failed")


def channels_report(s: Session, scope: ReportScope) -> ChannelsReport:
    """Per channel: tries in the range, outcomes, skips, fallbacks, latency, opt-outs."""
    dialect = s.get_bind().dialect.name
    # One statement: the tries are read once (a CTE both aggregates share).
    tries = union_all(_traced(scope, dialect), _pending(scope, dialect)).cte("tries")
    tried = tries.c.reason.is_(None)
    figures = select(
        literal("figures").label("part"),
        tries.c.channel,
        tries.c.reason,
        func.count().label("n"),
        _sum(and_(tried, tries.c.outcome == "delivered")).label("a"),
        _sum(and_(tried, tries.c.outcome.in_(FAILED))).label("b"),
        func.sum(tries.c.fallback).label("c"),
    ).group_by(tries.c.channel, tries.c.reason)
    parts = union_all(figures, _latencies(tries), _opt_outs(scope, dialect))
    rows: dict[str, ChannelRow] = {}
    for part, channel, reason, n, a, b, c in s.execute(parts):
        name = NONE if channel is None else channel
        found = rows.setdefault(name, ChannelRow(channel=name))
        if part == "latency":
            found.receipts = n
            found.latency_p50_seconds = a / 1_000_000
            found.latency_p90_seconds = b / 1_000_000
        elif part == "opt_outs":
            found.opt_outs = n
        elif reason is None:
            found.attempted += n
            found.delivered += int(a or 0)
            found.failed += int(b or 0)
            found.fallbacks += int(c or 0)
        else:
            found.skipped[reason] = found.skipped.get(reason, 0) + n
            found.fallbacks += int(c or 0)
    return ChannelsReport(rows=[rows[name] for name in sorted(rows)])


def _sum(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _traced(scope: ReportScope, dialect: str) -> Any:
    """``(channel, outcome, reason, latency_us, fallback)`` per attempt entry in the
    range. The outcome is the receipt's when the enrollment's next attempt-or-receipt
    entry is the receipt of the same step and channel; the reason is NULL for a channel
    tried; a fallback is a delivery after an attempt on another channel in the same
    visit of the step (``engine.store.sql.sends``)."""
    attempts = _attempts(scope, dialect)
    a = attempts.c
    receipt = aliased(TraceRow)
    settles = and_(
        receipt.enrollment_id == a.enrollment_id,
        receipt.seq == a.next_seq,
        receipt.kind == "receipt",
        receipt.step == a.step,
        trace_text("channel", receipt) == a.channel,
    )
    answer = trace_text("outcome", receipt)
    settled = case((receipt.seq.is_not(None), answer), else_=a.outcome)
    latency = epoch_us(receipt.at, dialect) - epoch_us(a.at, dialect)
    fallback = delivered_after_fallback(a.enrollment_id, a.step, a.channel, a.seq, settled)
    return select(
        a.channel.label("channel"),
        settled.label("outcome"),
        case((a.outcome.in_(NOT_TRIED), skip_reason(a.outcome, a.detail)), else_=null()).label(
            "reason"
        ),
        case((answer.in_(_ANSWERS), latency), else_=null()).label("latency_us"),
        case((fallback, 1), else_=0).label("fallback"),
    ).select_from(attempts.outerjoin(receipt, settles))


def _attempts(scope: ReportScope, dialect: str) -> Subquery:
    """The attempt entries in the range (of the scope's enrollments), each with the seq
    of its enrollment's next attempt or receipt entry."""
    later = aliased(TraceRow)
    next_seq = (
        select(func.min(later.seq))
        .where(
            later.enrollment_id == TraceRow.enrollment_id,
            later.seq > TraceRow.seq,
            later.kind.in_(("attempt", "receipt")),
        )
        .scalar_subquery()
    )
    stmt = select(
        TraceRow.enrollment_id,
        TraceRow.seq,
        TraceRow.at,
        TraceRow.step,
        trace_text("channel").label("channel"),
        trace_text("outcome").label("outcome"),
        trace_text("detail").label("detail"),
        next_seq.label("next_seq"),
    ).where(TraceRow.kind == "attempt", within_range(TraceRow.at, scope))
    if scope.clinics is not None:
        stmt = stmt.join(EnrollmentRow, EnrollmentRow.id == TraceRow.enrollment_id).where(
            in_scope(EnrollmentRow.customer_id, scope, dialect)
        )
    return stmt.subquery("attempts")


def _pending(scope: ReportScope, dialect: str) -> Any:
    """The same columns for deliveries in the range whose attempt is not in the trace
    yet: no attempt entry of their enrollment, step and channel at or after their time
    that called (or meant to call) the provider."""
    stored = aliased(TraceRow)
    in_trace = exists().where(
        stored.enrollment_id == DeliveryRow.enrollment_id,
        stored.step == DeliveryRow.step,
        stored.kind == "attempt",
        trace_text("channel", stored) == DeliveryRow.channel,
        stored.at >= DeliveryRow.at,
        stored.at >= scope.since,  # implied (the delivery is in the range): a cheap filter
        trace_text("outcome", stored).not_in(NOT_TRIED),
    )
    fallback = delivered_after_fallback(
        DeliveryRow.enrollment_id, DeliveryRow.step, DeliveryRow.channel, None, DeliveryRow.outcome
    )
    return select(
        DeliveryRow.channel.label("channel"),
        DeliveryRow.outcome.label("outcome"),
        null().label("reason"),
        null().label("latency_us"),
        case((fallback, 1), else_=0).label("fallback"),
    ).where(
        ~in_trace,
        within_range(DeliveryRow.at, scope),
        _survivor_in_scope(DeliveryRow.customer_id, scope, dialect),
    )


def _survivor_in_scope(
    customer_id: SQLColumnExpression[str | None], scope: ReportScope, dialect: str
) -> ColumnElement[bool]:
    """The customer, or the one it was merged into, is of the scope's clinics: a merge
    moves enrollments and consents but leaves deliveries under the merged id."""
    if scope.clinics is None:
        return true()
    if not scope.clinics:
        return false()
    live = select(CustomerRow.id).where(
        CustomerRow.merged_into.is_(None), clinic_of(dialect).in_(list(scope.clinics))
    )
    merged = select(CustomerRow.id).where(CustomerRow.merged_into.in_(live))
    return or_(customer_id.in_(live), customer_id.in_(merged))


def _latencies(tries: CTE) -> Any:
    """``("latency", channel, NULL, receipts, p50_us, p90_us, NULL)``: the nearest-rank
    percentiles, the smallest latency whose rank k (1-based, ascending) has k >= p x n."""
    measured = (
        select(
            tries.c.channel,
            tries.c.latency_us,
            func.row_number()
            .over(partition_by=tries.c.channel, order_by=tries.c.latency_us)
            .label("k"),
            func.count().over(partition_by=tries.c.channel).label("n"),
        )
        .where(tries.c.latency_us.is_not(None))
        .subquery("measured")
    )
    m = measured.c
    return select(
        literal("latency"),
        m.channel,
        null(),
        func.max(m.n),
        func.max(case((_rank(m.k, m.n, 1, 2), m.latency_us))),
        func.max(case((_rank(m.k, m.n, 9, 10), m.latency_us))),
        null(),
    ).group_by(m.channel)


def _rank(
    k: SQLColumnExpression[int], n: SQLColumnExpression[int], num: int, den: int
) -> ColumnElement[bool]:
    """``k`` is the nearest rank of the ``num/den`` quantile of ``n`` values:
    ``k - 1 < num/den x n <= k``, in integers."""
    return and_(k * den >= n * num, (k - 1) * den < n * num)


def _opt_outs(scope: ReportScope, dialect: str) -> Any:
    """``("opt_outs", channel, NULL, customers, NULL, NULL, NULL)``: customers who
    withdrew consent on the channel in the range."""
    return (
        select(
            literal("opt_outs"),
            ConsentRow.channel,
            null(),
            func.count(distinct(ConsentRow.customer_id)),
            null(),
            null(),
            null(),
        )
        .where(
            ConsentRow.granted.is_(False),
            within_range(ConsentRow.at, scope),
            in_scope(ConsentRow.customer_id, scope, dialect),
        )
        .group_by(ConsentRow.channel)
    )
