"""Which booking an appointment's later events belong to.

Payments, cancellations and refunds carry only ``appointment_id``; the booking they
belong to is the same customer's booking event (role ``booking``) with that id. An id
booked more than once (a rebooking, a change of doctor) belongs to its latest booking:
the latest ``at``, and of bookings at the same instant the one stored last. An id never
booked belongs to no booking.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, ScalarSelect, func, literal, select
from sqlalchemy.orm import aliased

from engine.models.reports.scope import NONE, ReportScope
from engine.store.sql.reports.query import names_in, prop_text, role_names
from engine.store.sql.tables import EventRow


def appointment_of(dialect: str) -> ColumnElement[str]:
    """An event's ``appointment_id`` as text (NULL when it has none)."""
    return prop_text(EventRow.properties, "appointment_id", dialect)


def valued(text: ColumnElement[str]) -> ColumnElement[str]:
    """A group's name: the text, or ``(none)`` when it is NULL or empty."""
    return func.coalesce(func.nullif(text, literal("")), literal(NONE))


def booked_doctor(scope: ReportScope, dialect: str) -> ScalarSelect[str]:
    """The doctor (``(none)`` when it names none) of the latest booking of the outer
    query's event's appointment by the same customer; NULL when it was never booked.

    One index lookup per event (customer, booking name), so the cost follows the events
    of the range, not every booking ever made."""
    booking = aliased(EventRow)
    return (
        select(valued(prop_text(booking.properties, "doctor_id", dialect)))
        .where(
            booking.customer_id == EventRow.customer_id,
            names_in(booking.name, role_names(scope, "booking")),
            prop_text(booking.properties, "appointment_id", dialect) == appointment_of(dialect),
        )
        .order_by(booking.at.desc(), booking.id.desc())
        .limit(1)
        .correlate(EventRow)
        .scalar_subquery()
    )
