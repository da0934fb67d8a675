"""New customers by first-touch fields, their cohort's conversions within the window,
and the cost attributed to each group.

One statement groups the cohort (customers whose first touch lies in the range, from
:func:`~engine.store.sql.reports.query.first_touches`) left-joined to its outcomes
(:func:`~engine.store.sql.reports.query.cohort_outcomes`); the cost rows are summed per
group by :mod:`engine.store.sql.reports.costs_by_group`. Python only joins the two
lists of groups and divides.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Subquery, func, literal, select
from sqlalchemy.orm import Session

from engine.models.reports.acquisition import AcquisitionReport, AcquisitionRow
from engine.models.reports.groups import GroupKey, group_fields, ratio, yuan, yuan_per
from engine.models.reports.scope import NONE, FirstTouchField, ReportScope
from engine.store.sql.reports.costs_by_group import costs_by_group
from engine.store.sql.reports.query import cohort_outcomes, first_touches, within_range


@dataclass(frozen=True)
class Cohort:
    """A group's new customers, those who converted, their conversion events and
    revenue (fen)."""

    new: int = 0
    converted: int = 0
    conversions: int = 0
    revenue_fen: int = 0


EMPTY = Cohort()


def group_values(first: Subquery, by: Sequence[FirstTouchField]) -> list[ColumnElement[str]]:
    """Each field of ``by`` of a first-touch subquery, ``(none)`` when it is absent or
    empty, labelled with the field's name."""
    return [
        func.coalesce(func.nullif(first.c[field], ""), literal(NONE)).label(field) for field in by
    ]


def cohorts_by_group(
    s: Session, scope: ReportScope, by: Sequence[FirstTouchField], window: dt.timedelta
) -> dict[GroupKey, Cohort]:
    """The range's new customers per group of ``by``, and what they converted to
    within ``window`` of their first touch."""
    dialect = s.get_bind().dialect.name
    first = first_touches(scope, dialect, by)
    cohort = (
        select(first.c.customer_id, first.c.at, *group_values(first, by))
        .where(within_range(first.c.at, scope))
        # A CTE: the grouping and the outcome join both read it, computed once.
        .cte("cohort")
    )
    outcome = cohort_outcomes(cohort, scope, dialect, window)
    # Grouped by the subquery's columns, not by expressions: PostgreSQL would take the
    # same expression with other bound parameters for a different one.
    keys = [cohort.c[field] for field in by]
    rows = s.execute(
        select(
            *keys,
            func.count(),
            func.count(outcome.c.customer_id),
            func.coalesce(func.sum(outcome.c.conversions), 0),
            func.coalesce(func.sum(outcome.c.revenue_fen), 0),
        )
        .select_from(cohort.outerjoin(outcome, outcome.c.customer_id == cohort.c.customer_id))
        .group_by(*keys)
    ).all()
    n = len(by)
    return {
        tuple(str(v) for v in row[:n]): Cohort(*(int(v) for v in row[n:]))
        for row in rows
        if row[n]  # without fields grouped by, an empty cohort is still one row
    }


def is_provisional(scope: ReportScope, window: dt.timedelta, now: dt.datetime | None) -> bool:
    """Whether a customer first touched in the range may still convert: the range's end
    plus the window is after ``now`` (default: the current time)."""
    return scope.until + window > (now or dt.datetime.now(dt.UTC))


def ordered(keys: Iterable[GroupKey], cohorts: Mapping[GroupKey, Cohort]) -> list[GroupKey]:
    """Groups with the most new customers first, then by their values."""
    return sorted(set(keys), key=lambda key: (-cohorts.get(key, EMPTY).new, key))


def acquisition_row(
    by: Sequence[FirstTouchField], key: GroupKey, cohort: Cohort, cost_fen: int | None
) -> AcquisitionRow:
    """A group's row from its cohort and its cost in fen (None: not attributable)."""
    return AcquisitionRow(
        **group_fields(by, key),
        new_customers=cohort.new,
        converted=cohort.converted,
        conversion_rate=ratio(cohort.converted, cohort.new),
        revenue=yuan(cohort.revenue_fen),
        average_order_value=yuan_per(cohort.revenue_fen, cohort.conversions),
        cost=None if cost_fen is None else yuan(cost_fen),
        traffic_cost=yuan_per(cost_fen, cohort.new),
        cost_per_conversion=yuan_per(cost_fen, cohort.converted),
        roi=ratio(cohort.revenue_fen, cost_fen),
    )


def acquisition_report(
    s: Session,
    scope: ReportScope,
    by: Sequence[FirstTouchField],
    window: dt.timedelta,
    now: dt.datetime | None = None,
) -> AcquisitionReport:
    """New customers per group of ``by``, their conversions within ``window``, revenue
    and cost; provisional while ``now`` (default: the current time) is before the
    range's end plus the window."""
    cohorts = cohorts_by_group(s, scope, by, window)
    costs = costs_by_group(s, scope, by)
    spent = costs.groups or {}
    rows = [
        acquisition_row(
            by, key, cohorts.get(key, EMPTY), None if costs.groups is None else spent.get(key, 0)
        )
        for key in ordered([*cohorts, *spent], cohorts)
    ]
    return AcquisitionReport(by=list(by), rows=rows, provisional=is_provisional(scope, window, now))
