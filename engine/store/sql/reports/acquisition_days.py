"""New customers and those of them who converted, per local day of first touch, in one
statement for the whole range.

The cohort is the acquisition report's own (customers whose first touch, from
:func:`~engine.store.sql.reports.query.first_touches`, lies in the range), left-joined
to its outcomes (:func:`~engine.store.sql.reports.query.cohort_outcomes`) and grouped
by the local day of the first touch (:func:`~engine.store.sql.reports.query.local_day`)
instead of by first-touch fields. A customer's outcome depends only on their first
touch, so each day's figures are those of the acquisition report of that day alone,
added up over its groups, without asking it once per day.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models.reports.acquisition_days import AcquisitionDay, AcquisitionDays
from engine.models.reports.scope import ReportScope
from engine.store.sql.reports.acquisition import is_provisional
from engine.store.sql.reports.query import (
    cohort_outcomes,
    day_of,
    first_touches,
    local_day,
    within_range,
)


def acquisition_days(
    s: Session, scope: ReportScope, window: dt.timedelta, now: dt.datetime | None = None
) -> AcquisitionDays:
    """Per local day of the scope's range: new customers and those of them with a
    conversion within ``window`` of their first touch; provisional while ``now``
    (default: the current time) is before the range's end plus the window."""
    dialect = s.get_bind().dialect.name
    first = first_touches(scope, dialect, ())
    day = local_day(first.c.at, scope, dialect, scope.since, scope.until)
    cohort = (
        select(first.c.customer_id, first.c.at, day.label("day"))
        .where(within_range(first.c.at, scope))
        # A CTE: the grouping and the outcome join both read it, computed once.
        .cte("cohort")
    )
    outcome = cohort_outcomes(cohort, scope, dialect, window)
    rows = s.execute(
        select(cohort.c.day, func.count(), func.count(outcome.c.customer_id))
        .select_from(cohort.outerjoin(outcome, outcome.c.customer_id == cohort.c.customer_id))
        .group_by(cohort.c.day)
    ).all()
    counted = {day_of(int(d)): (int(new), int(converted)) for d, new, converted in rows}
    return AcquisitionDays(
        rows=[
            AcquisitionDay(date=d, new_customers=new, converted=converted)
            for d in scope.days()
            for new, converted in [counted.get(d, (0, 0))]
        ],
        provisional=is_provisional(scope, window, now),
    )
