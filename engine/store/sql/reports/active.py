"""Active customers per day: DAU, WAU, MAU and stickiness in one statement.

A customer active on local day ``d`` whose next active day is ``n`` is counted by the
k-day figure (WAU: k = 7, MAU: k = 30) on days ``d .. min(d + k, n) - 1``; those
stretches never overlap for one customer, so each figure is a running sum of +1 at
``d`` and -1 at ``min(d + k, n)`` over the distinct (customer, day) pairs: no range
join, one pass over the events of the range and the 29 days before it. The statement
groups the customer-days by (d, its week stretch's end, its month stretch's end), a few
thousand rows at most (days x 8 x 31), which are folded into each day's changes here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    case,
    func,
    select,
)
from sqlalchemy.orm import Session

from engine.models.reports.active import ActiveDay, ActiveReport
from engine.models.reports.scope import ReportScope
from engine.store.sql.reports.query import (
    day_number,
    day_of,
    in_scope,
    is_activity,
    local_day,
    within_range,
)
from engine.store.sql.tables import EventRow

#: The days each rolling figure covers.
_WEEK, _MONTH = 7, 30


def active_report(s: Session, scope: ReportScope) -> ActiveReport:
    """The active customers of each day of the scope's range."""
    dialect = s.get_bind().dialect.name
    looked = scope.model_copy(update={"start": scope.start - dt.timedelta(days=_MONTH - 1)})
    day = local_day(EventRow.at, scope, dialect, looked.since, looked.until)
    pairs = (
        select(EventRow.customer_id.label("c"), day.label("d"))
        .where(
            within_range(EventRow.at, looked),
            is_activity(EventRow.name, scope),
            in_scope(EventRow.customer_id, scope, dialect),
        )
        .distinct()
        .subquery("pairs")
    )
    following = func.lead(pairs.c.d).over(partition_by=pairs.c.c, order_by=pairs.c.d)
    marks = select(pairs.c.d, following.label("n")).subquery("marks")
    # Customer-days grouped by (day, week stretch's end, month stretch's end): a few
    # thousand rows, folded into the days' changes below (one sort of the pairs
    # instead of a union three times their size grouped by day; bench.reports).
    week_end = _until(marks.c.d, marks.c.n, _WEEK).label("w")
    month_end = _until(marks.c.d, marks.c.n, _MONTH).label("m")
    stretches = s.execute(
        select(marks.c.d, week_end, month_end, func.count()).group_by(
            marks.c.d, week_end, month_end
        )
    ).all()
    changes: dict[int, list[int]] = {}

    def at(day: int) -> list[int]:
        return changes.setdefault(day, [0, 0, 0])

    for d, w, m, n in stretches:
        start = at(int(d))
        start[0] += n
        start[1] += n
        start[2] += n
        at(int(w))[1] -= n
        at(int(m))[2] -= n
    return ActiveReport(rows=_running(looked, scope, changes))


def _until(d: SQLColumnExpression[int], n: SQLColumnExpression[int], k: int) -> ColumnElement[int]:
    """The day a stretch started on ``d`` stops counting: ``d + k``, or the customer's
    next active day ``n`` when sooner."""
    return case((and_(n.is_not(None), n < d + k), n), else_=d + k)


def _running(
    looked: ReportScope, scope: ReportScope, changes: dict[int, list[int]]
) -> list[ActiveDay]:
    """The running sums of the day's changes, for the days of the range."""
    rows: list[ActiveDay] = []
    week = month = 0
    first = day_number(scope.start)
    for number in range(day_number(looked.start), day_number(scope.end)):
        dau, dw, dm = changes.get(number, (0, 0, 0))
        week, month = week + dw, month + dm
        if number >= first:
            rows.append(
                ActiveDay(
                    date=day_of(number),
                    dau=dau,
                    wau=week,
                    mau=month,
                    stickiness=round(dau / month, 4) if month else None,
                )
            )
    return rows
