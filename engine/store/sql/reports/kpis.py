"""The seed KPIs per group of first-touch fields and in total.

Traffic, conversion, sales and cost come from the acquisition report's statements
(:mod:`engine.store.sql.reports.acquisition`); the spread rate from one more: each
customer of the scope's first touches (whenever it was) with an activity event or a
share in the range, grouped by that first touch. A customer belongs to one group, so
the total of every count is the sum of the groups'; the total cost is every cost row of
the range, attributable to a group or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Subquery, and_, case, func, or_, select
from sqlalchemy.orm import Session

from engine.models.reports.groups import GroupKey, group_fields, ratio, yuan, yuan_per
from engine.models.reports.kpis import KpiReport, KpiRow
from engine.models.reports.scope import FirstTouchField, ReportScope
from engine.store.sql.reports.acquisition import (
    EMPTY,
    Cohort,
    cohorts_by_group,
    group_values,
    is_provisional,
    ordered,
)
from engine.store.sql.reports.costs_by_group import costs_by_group
from engine.store.sql.reports.query import (
    first_touch_rows,
    in_scope,
    is_activity,
    names_in,
    role_names,
    within_range,
)
from engine.store.sql.tables import EventRow


@dataclass(frozen=True)
class Spread:
    """A group's customers active in the range, and those who shared in it."""

    active: int = 0
    sharing: int = 0


def spread_by_group(
    s: Session, scope: ReportScope, by: Sequence[FirstTouchField]
) -> dict[GroupKey, Spread]:
    """Per group of ``by`` (the customer's first touch, at any time): customers with an
    activity event in the range, and customers with a share event in it."""
    dialect = s.get_bind().dialect.name
    doers = _doers(scope, dialect)
    touch = first_touch_rows(dialect, by).subquery("touch")
    # A customer without a first touch has one in their first activity event, with no
    # fields: the (none) group. Only one who merely shared in the range needs that event
    # looked up (at any time).
    counted = or_(
        doers.c.active == 1,
        and_(
            doers.c.sharing == 1,
            or_(
                touch.c.customer_id.is_not(None),
                _first_activity(doers.c.customer_id, scope).is_not(None),
            ),
        ),
    )
    grouped = (
        select(doers.c.active, doers.c.sharing, *group_values(touch, by))
        .select_from(doers.outerjoin(touch, touch.c.customer_id == doers.c.customer_id))
        .where(counted)
        .subquery("grouped")
    )
    keys = [grouped.c[field] for field in by]
    rows = s.execute(
        select(
            *keys, func.count(), func.sum(grouped.c.active), func.sum(grouped.c.sharing)
        ).group_by(*keys)
    ).all()
    n = len(by)
    return {
        tuple(str(v) for v in row[:n]): Spread(int(row[n + 1]), int(row[n + 2]))
        for row in rows
        if row[n]  # without fields grouped by, no customer is still one row
    }


def _doers(scope: ReportScope, dialect: str) -> Subquery:
    """``(customer_id, active, sharing)``: the scope's customers with an event in the
    range, and whether they had an activity event, a share event (1 or 0)."""
    # The names are tested once per event, in the aggregates: testing them in WHERE too
    # made the statement 25 % slower on SQLite.
    active = func.max(case((is_activity(EventRow.name, scope), 1), else_=0))
    sharing = func.max(case((names_in(EventRow.name, role_names(scope, "share")), 1), else_=0))
    return (
        select(
            EventRow.customer_id.label("customer_id"),
            active.label("active"),
            sharing.label("sharing"),
        )
        .where(within_range(EventRow.at, scope), in_scope(EventRow.customer_id, scope, dialect))
        .group_by(EventRow.customer_id)
        .subquery("doers")
    )


def _first_activity(customer_id: ColumnElement[str], scope: ReportScope) -> ColumnElement[int]:
    """The id of one activity event of the customer, at any time (NULL: none)."""
    return (
        select(EventRow.id)
        .where(EventRow.customer_id == customer_id, is_activity(EventRow.name, scope))
        .limit(1)
        .scalar_subquery()
    )


def kpi_row(cohort: Cohort, spread: Spread, cost_fen: int | None, **group: str) -> KpiRow:
    """The KPIs of a group (or of the total) from its figures; cost in fen."""
    return KpiRow(
        **group,
        traffic=cohort.new,
        conversion_rate=ratio(cohort.converted, cohort.new),
        effective_traffic=cohort.converted,
        average_order_value=yuan_per(cohort.revenue_fen, cohort.conversions),
        sales=yuan(cohort.revenue_fen),
        spread_rate=ratio(spread.sharing, spread.active),
        active_customers=spread.active,
        sharing_customers=spread.sharing,
        cost=None if cost_fen is None else yuan(cost_fen),
        traffic_cost=yuan_per(cost_fen, cohort.new),
        cost_per_conversion=yuan_per(cost_fen, cohort.converted),
        roi=ratio(cohort.revenue_fen, cost_fen),
    )


def kpi_report(
    s: Session,
    scope: ReportScope,
    by: Sequence[FirstTouchField],
    window: dt.timedelta,
    now: dt.datetime | None = None,
) -> KpiReport:
    """The seed KPIs per group of ``by`` and for the whole range; provisional while
    ``now`` (default: the current time) is before the range's end plus the window."""
    cohorts = cohorts_by_group(s, scope, by, window)
    spreads = spread_by_group(s, scope, by)
    costs = costs_by_group(s, scope, by)
    spent = costs.groups or {}
    rows = [
        kpi_row(
            cohorts.get(key, EMPTY),
            spreads.get(key, Spread()),
            None if costs.groups is None else spent.get(key, 0),
            **group_fields(by, key),
        )
        for key in ordered([*cohorts, *spreads, *spent], cohorts)
    ]
    total = Cohort(
        new=sum(c.new for c in cohorts.values()),
        converted=sum(c.converted for c in cohorts.values()),
        conversions=sum(c.conversions for c in cohorts.values()),
        revenue_fen=sum(c.revenue_fen for c in cohorts.values()),
    )
    reach = Spread(
        active=sum(x.active for x in spreads.values()),
        sharing=sum(x.sharing for x in spreads.values()),
    )
    return KpiReport(
        by=list(by),
        rows=rows,
        total=kpi_row(total, reach, costs.total),
        provisional=is_provisional(scope, window, now),
    )
