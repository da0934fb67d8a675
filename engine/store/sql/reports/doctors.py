"""Doctors: each doctor's views, consultations, bookings, payments, cancellations,
refunds, revenue and new customers in the range, in one statement.

Views, consultations and bookings name their doctor (``doctor_id``); payments,
cancellations and refunds name only the appointment, and belong to the doctor of the
customer's latest booking of that ``appointment_id`` (:mod:`.appointments`). Every fact
is one row of a union, summed per doctor; what names no doctor goes to ``(none)``, so
the rows add up to the range's totals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select, union_all
from sqlalchemy.orm import Session

from engine.models.reports.doctors import DoctorRow, DoctorsReport
from engine.models.reports.scope import NONE, ReportScope
from engine.store.sql.reports.appointments import booked_doctor, valued
from engine.store.sql.reports.query import (
    amount_fen,
    first_touches,
    in_scope,
    names_in,
    prop_text,
    role_names,
    within_range,
)
from engine.store.sql.tables import EventRow

#: The figures every fact row carries, in order (each fact sets some, the rest are 0).
_FIGURES = (
    "views",
    "consultations",
    "bookings",
    "paid",
    "cancelled",
    "refunded",
    "revenue_fen",
    "new_customers",
)


def doctors_report(s: Session, scope: ReportScope) -> DoctorsReport:
    """Per doctor, the figures of the scope's customers in the scope's range."""
    dialect = s.get_bind().dialect.name
    facts = union_all(
        _named_facts(scope, dialect),
        _appointment_facts(scope, dialect),
        _new_customers(scope, dialect),
    ).subquery("facts")
    sums = [func.sum(facts.c[f]) for f in _FIGURES]
    totals = s.execute(select(facts.c.doctor, *sums).group_by(facts.c.doctor)).all()
    rows = [
        DoctorRow(
            doctor_id=str(doctor),
            views=int(views),
            consultations=int(consultations),
            bookings=int(bookings),
            paid=int(paid),
            cancelled=int(cancelled),
            refunded=int(refunded),
            revenue=Decimal(int(fen)).scaleb(-2),
            new_customers=int(new),
        )
        for doctor, views, consultations, bookings, paid, cancelled, refunded, fen, new in totals
    ]
    rows.sort(key=lambda r: (r.doctor_id == NONE, r.doctor_id))
    return DoctorsReport(rows=rows)


def _fact(doctor: ColumnElement[str], **figures: ColumnElement[int]) -> list[ColumnElement[Any]]:
    """A fact row's columns: the doctor, then every figure (0 unless given)."""
    return [doctor.label("doctor"), *(figures.get(f, literal(0)).label(f) for f in _FIGURES)]


def _one_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _named_facts(scope: ReportScope, dialect: str) -> Select[Any]:
    """Views, consultations and bookings in the range, by the doctor they name."""
    viewed = role_names(scope, "page_view", "content_view")
    intent, booking = role_names(scope, "intent"), role_names(scope, "booking")
    doctor = valued(prop_text(EventRow.properties, "doctor_id", dialect))
    return select(
        *_fact(
            doctor,
            views=_one_if(names_in(EventRow.name, viewed)),
            consultations=_one_if(names_in(EventRow.name, intent)),
            bookings=_one_if(names_in(EventRow.name, booking)),
        )
    ).where(
        names_in(EventRow.name, (*viewed, *intent, *booking)),
        within_range(EventRow.at, scope),
        in_scope(EventRow.customer_id, scope, dialect),
    )


def _appointment_facts(scope: ReportScope, dialect: str) -> Select[Any]:
    """Payments, losses and refunds in the range, by the doctor of their appointment's
    latest booking; ``(none)`` when it has no booking."""
    conversion, loss = role_names(scope, "conversion"), role_names(scope, "loss")
    refund = role_names(scope, "refund")
    fen = amount_fen(EventRow.properties, dialect)
    is_paid, is_refund = names_in(EventRow.name, conversion), names_in(EventRow.name, refund)
    revenue = case((is_paid, fen), else_=0) - case((is_refund, fen), else_=0)
    return select(
        *_fact(
            func.coalesce(booked_doctor(scope, dialect), literal(NONE)),
            paid=_one_if(is_paid),
            cancelled=_one_if(names_in(EventRow.name, loss)),
            refunded=_one_if(is_refund),
            revenue_fen=revenue,
        )
    ).where(
        names_in(EventRow.name, (*conversion, *loss, *refund)),
        within_range(EventRow.at, scope),
        in_scope(EventRow.customer_id, scope, dialect),
    )


def _new_customers(scope: ReportScope, dialect: str) -> Select[Any]:
    """Customers whose first touch lies in the range, by the doctor it names."""
    first = first_touches(scope, dialect, ["doctor"])
    return select(*_fact(valued(first.c.doctor), new_customers=literal(1))).where(
        within_range(first.c.at, scope)
    )
