"""Clinics: each clinic's new customers and their conversion, followers per Official
Account, bookings, payments and revenue in the range, in two statements.

A customer belongs to the clinic of its ``clinic_id`` attribute, the clinic the
visibility rule and the ``clinic_id`` filter use, so a clinic's row is the report
filtered to that clinic; customers without one make the ``(none)`` row. The first
statement sums the range's events and the cohort of its new customers per clinic; the
second counts follows and unfollows per clinic and Official Account (``app_id``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    Subquery,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from engine.expressions.clock import utcnow
from engine.models.reports.clinics import ClinicRow, ClinicsReport, Followers
from engine.models.reports.scope import DEFAULT_WINDOW, NONE, ReportScope
from engine.store.sql.reports.appointments import valued
from engine.store.sql.reports.query import (
    amount_fen,
    clinic_of,
    cohort_outcomes,
    epoch_us,
    first_touches,
    in_scope,
    instant_us,
    names_in,
    prop_text,
    role_names,
    within_range,
)
from engine.store.sql.tables import CustomerRow, EventRow

#: The figures every fact row carries, in order (each fact sets some, the rest are 0).
_FIGURES = ("new_customers", "converted", "open", "bookings", "paid", "revenue_fen")


def clinics_report(
    s: Session,
    scope: ReportScope,
    window: dt.timedelta = DEFAULT_WINDOW,
    now: dt.datetime | None = None,
) -> ClinicsReport:
    """Per clinic, the figures of the scope's customers in the scope's range; a cohort is
    provisional while a new customer's window is still open at ``now`` (default: now)."""
    dialect = s.get_bind().dialect.name
    open_after = instant_us(now or utcnow())
    homes = _homes(scope, dialect)
    facts = union_all(
        _event_facts(scope, dialect), _cohort_facts(scope, dialect, window, open_after)
    ).subquery("facts")
    sums = [func.sum(facts.c[f]) for f in _FIGURES]
    totals = s.execute(
        select(homes.c.clinic, *sums)
        .join(facts, facts.c.customer_id == homes.c.customer_id)
        .group_by(homes.c.clinic)
    ).all()
    followers = _followers(s, scope, dialect, homes)
    # A clinic whose only facts add nothing (a refund of no amount) makes no row.
    figures = {str(c): [int(v) for v in values] for c, *values in totals if any(values)}
    rows = [
        _row(clinic, figures.get(clinic, [0] * len(_FIGURES)), followers.get(clinic, {}))
        for clinic in sorted(figures.keys() | followers.keys(), key=lambda c: (c == NONE, c))
    ]
    return ClinicsReport(
        rows=rows,
        window_days=window.days,
        provisional=any(r.provisional for r in rows),
    )


def _row(clinic: str, figures: list[int], followers: dict[str, Followers]) -> ClinicRow:
    new, converted, still_open, bookings, paid, fen = figures
    return ClinicRow(
        clinic_id=clinic,
        new_customers=new,
        converted=converted,
        conversion_rate=round(converted / new, 4) if new else None,
        provisional=still_open > 0,
        followers_gained=sum(f.gained for f in followers.values()),
        followers_lost=sum(f.lost for f in followers.values()),
        followers=followers,
        bookings=bookings,
        paid=paid,
        revenue=Decimal(fen).scaleb(-2),
    )


def _homes(scope: ReportScope, dialect: str) -> Subquery:
    """``(customer_id, clinic)``: the scope's customers and their clinic."""
    return (
        select(CustomerRow.id.label("customer_id"), valued(clinic_of(dialect)).label("clinic"))
        .where(in_scope(CustomerRow.id, scope, dialect))
        .subquery("homes")
    )


def _fact(customer_id: SQLColumnExpression[str], **figures: ColumnElement[int]) -> list[Any]:
    """A fact row's columns: the customer, then every figure (0 unless given)."""
    return [
        customer_id.label("customer_id"),
        *(figures.get(f, literal(0)).label(f) for f in _FIGURES),
    ]


def _one_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _event_facts(scope: ReportScope, dialect: str) -> Select[Any]:
    """Bookings, conversions and revenue (conversions minus refunds) in the range."""
    booking, conversion = role_names(scope, "booking"), role_names(scope, "conversion")
    refund = role_names(scope, "refund")
    is_paid, is_refund = names_in(EventRow.name, conversion), names_in(EventRow.name, refund)
    fen = amount_fen(EventRow.properties, dialect)
    revenue = case((is_paid, fen), else_=0) - case((is_refund, fen), else_=0)
    return select(
        *_fact(
            EventRow.customer_id,
            bookings=_one_if(names_in(EventRow.name, booking)),
            paid=_one_if(is_paid),
            revenue_fen=revenue,
        )
    ).where(
        names_in(EventRow.name, (*booking, *conversion, *refund)),
        within_range(EventRow.at, scope),
    )


def _cohort_facts(
    scope: ReportScope, dialect: str, window: dt.timedelta, open_after: int
) -> Select[Any]:
    """The range's new customers: converted within ``window`` of their first touch, and
    whether that window is still open after the instant ``open_after`` (microseconds)."""
    first = first_touches(scope, dialect, [])
    # A CTE, read twice (here and by the outcomes) but computed once.
    cohort = (
        select(first.c.customer_id, first.c.at).where(within_range(first.c.at, scope)).cte("cohort")
    )
    outcome = cohort_outcomes(cohort, scope, dialect, window)
    closes = epoch_us(cohort.c.at, dialect) + int(window.total_seconds() * 1_000_000)
    return (
        select(
            *_fact(
                cohort.c.customer_id,
                new_customers=literal(1),
                converted=_one_if(outcome.c.customer_id.is_not(None)),
                open=_one_if(closes > open_after),
            )
        )
        .select_from(cohort)
        .outerjoin(outcome, outcome.c.customer_id == cohort.c.customer_id)
    )


def _followers(
    s: Session, scope: ReportScope, dialect: str, homes: Subquery
) -> dict[str, dict[str, Followers]]:
    """Per clinic and Official Account (``app_id``), follows and unfollows in the range."""
    follow, unfollow = role_names(scope, "follow"), role_names(scope, "unfollow")
    changes = (
        select(
            EventRow.customer_id.label("customer_id"),
            valued(prop_text(EventRow.properties, "app_id", dialect)).label("app"),
            _one_if(names_in(EventRow.name, follow)).label("gained"),
            _one_if(names_in(EventRow.name, unfollow)).label("lost"),
        )
        .where(names_in(EventRow.name, (*follow, *unfollow)), within_range(EventRow.at, scope))
        .subquery("changes")
    )
    counted = s.execute(
        select(homes.c.clinic, changes.c.app, func.sum(changes.c.gained), func.sum(changes.c.lost))
        .join(changes, changes.c.customer_id == homes.c.customer_id)
        .group_by(homes.c.clinic, changes.c.app)
    ).all()
    out: dict[str, dict[str, Followers]] = {}
    for clinic, app, gained, lost in sorted(counted, key=lambda r: (r[1] == NONE, r[1])):
        g, lost_ = int(gained), int(lost)
        out.setdefault(str(clinic), {})[str(app)] = Followers(gained=g, lost=lost_, net=g - lost_)
    return out
