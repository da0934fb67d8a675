"""Doctors: the SQL report against the contract's definition in plain Python, on
generated populations of views, consultations and appointments (SQLite, and PostgreSQL
with CAREPATH_TEST_DATABASE_URL), and the named cases of appointment attribution."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from engine.models.reports.doctors import DoctorRow
from engine.models.reports.scope import NONE, ReportScope
from engine.store.sql.reports.doctors import doctors_report
from tests.engine.store.reports.population import (
    BASE,
    CLINICS,
    Customer,
    Event,
    Population,
    Touch,
    database,
    instants,
    loaded,
    scope,
)

pytestmark = pytest.mark.db
__all__ = ["database"]

NAMES = (
    "page.viewed",
    "content.viewed",
    "consultation.started",
    "appointment.booked",
    "order.placed",
    "appointment.paid",
    "order.paid",
    "appointment.cancelled",
    "appointment.no_show",
    "appointment.refunded",
    "share.sent",
    "carepath.channel_alert",
)
OUTCOMES = (
    "appointment.paid",
    "appointment.refunded",
    "appointment.cancelled",
    "appointment.no_show",
    "order.paid",
)
DOCTORS = st.sampled_from([{"doctor_id": "d1"}, {"doctor_id": "d2"}, {}])


# -- the definition in plain Python --------------------------------------------------


def text(value: Any) -> str | None:
    """A JSON property as the reports read it (strings and integers only here)."""
    return None if value is None else str(value)


def group(value: Any) -> str:
    return text(value) or NONE


def fen(properties: dict[str, Any]) -> int:
    amount = properties.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return 0
    return int(round(Decimal(str(amount)) * 100))


def first_touch(population: Population, customer: str, scope: ReportScope) -> tuple[Any, Any]:
    """(at, doctor) of the customer's first touch, or of their first activity event."""
    for t in population.touches:
        if t.customer_id == customer and t.first:
            return t.at, t.fields.get("doctor")
    times = [
        e.at
        for e in population.events
        if e.customer_id == customer and scope.roles.is_activity(e.name)
    ]
    return (min(times), None) if times else (None, None)


def oracle(population: Population, scope: ReportScope) -> list[DoctorRow]:
    """Contract section 3 (doctors) with the attribution of docs/reports.md: outcomes go
    to the doctor of the same customer's latest booking of the appointment."""
    roles = scope.roles
    live = {c.id for c in population.live(scope)}
    mine = [(i, e) for i, e in enumerate(population.events) if e.customer_id in live]
    latest: dict[tuple[str, str | None], tuple[tuple[dt.datetime, int], str]] = {}
    for i, e in mine:
        key = text(e.properties.get("appointment_id"))
        if e.name in roles.names("booking") and key is not None:
            found = latest.get((e.customer_id, key))
            if found is None or (e.at, i) > found[0]:
                latest[(e.customer_id, key)] = ((e.at, i), group(e.properties.get("doctor_id")))
    figures: dict[str, Counter[str]] = defaultdict(Counter)
    for _, e in mine:
        if not scope.since <= e.at < scope.until:
            continue
        named = figures[group(e.properties.get("doctor_id"))]
        named["views"] += e.name in (*roles.names("page_view"), *roles.names("content_view"))
        named["consultations"] += e.name in roles.names("intent")
        named["bookings"] += e.name in roles.names("booking")
        paid, refund = e.name in roles.names("conversion"), e.name in roles.names("refund")
        if paid or refund or e.name in roles.names("loss"):
            key = (e.customer_id, text(e.properties.get("appointment_id")))
            booked = figures[latest[key][1] if key in latest else NONE]
            booked["paid"] += paid
            booked["cancelled"] += e.name in roles.names("loss")
            booked["refunded"] += refund
            booked["revenue_fen"] += fen(e.properties) * (paid - refund)
    for customer in live:
        at, doctor = first_touch(population, customer, scope)
        if at is not None and scope.since <= at < scope.until:
            figures[group(doctor)]["new_customers"] += 1
    rows = [
        DoctorRow(
            doctor_id=doctor,
            views=f["views"],
            consultations=f["consultations"],
            bookings=f["bookings"],
            paid=f["paid"],
            cancelled=f["cancelled"],
            refunded=f["refunded"],
            revenue=Decimal(f["revenue_fen"]).scaleb(-2),
            new_customers=f["new_customers"],
        )
        for doctor, f in figures.items()
        if any(f.values())
    ]
    return sorted(rows, key=lambda r: (r.doctor_id == NONE, r.doctor_id))


# -- generated populations -----------------------------------------------------------


def _properties() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "doctor_id": st.sampled_from(["d1", "d2", "", 7]),
            "appointment_id": st.sampled_from(["p1", "p2", 9]),
            "amount": st.sampled_from([100, 250.5, 0.01, "12", None]),
        },
    )


@st.composite
def clinic_days(draw: st.DrawFn, max_customers: int = 5) -> Population:
    """Customers with doctor-naming touches, views, consultations and appointments."""
    n = draw(st.integers(1, max_customers))
    customers = [Customer(f"u{i}", draw(st.sampled_from([*CLINICS, None]))) for i in range(n)]
    if n > 1 and draw(st.booleans()):
        customers.append(Customer("merged", customers[1].clinic, merged_into=customers[0].id))
    touches: list[Touch] = []
    events: list[Event] = []
    for c in customers[:n]:
        for i in range(draw(st.integers(0, 2))):
            doctor = draw(st.sampled_from([{"doctor": "d1"}, {"doctor": "d2"}, {}]))
            touches.append(Touch(c.id, draw(instants()), i == 0, {"channel": "web", **doctor}))
        for _ in range(draw(st.integers(0, 6))):
            name = draw(st.sampled_from(NAMES))
            events.append(Event(c.id, name, draw(instants()), draw(_properties())))
        for story in draw(st.lists(_appointment(c.id), max_size=2)):
            events.extend(story)
    return Population(customers, touches, events)


@st.composite
def _appointment(draw: st.DrawFn, customer: str) -> list[Event]:
    """A booking (sometimes two) and what followed, all of one appointment id."""
    appointment = {"appointment_id": draw(st.sampled_from(["p1", "p2", 9]))}
    events = [
        Event(customer, "appointment.booked", draw(instants()), {**appointment, **doctor})
        for doctor in draw(st.lists(DOCTORS, min_size=1, max_size=2))
    ]
    for name in draw(st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=3)):
        amount = draw(st.sampled_from([{"amount": 100}, {"amount": 0.01}, {}]))
        events.append(Event(customer, name, draw(instants()), {**appointment, **amount}))
    return events


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(population=clinic_days(), clinics=st.sampled_from([None, ("c1",), ()]))
def test_matches_the_definition(
    database: Engine, population: Population, clinics: tuple[str, ...] | None
) -> None:
    asked = scope(days=10, clinics=clinics)
    with loaded(database, population) as s:
        assert doctors_report(s, asked).rows == oracle(population, asked)


# -- named cases ---------------------------------------------------------------------

DAY = dt.timedelta(days=1)


def _report(database: Engine, events: list[Event]) -> dict[str, Any]:
    population = Population([Customer("u1", "c1"), Customer("u2", "c2")], [], events)
    with loaded(database, population) as s:
        rows = doctors_report(s, scope(days=10)).rows
    return {r.doctor_id: r.model_dump(exclude={"doctor_id"}) for r in rows}


def test_an_appointment_booked_twice_belongs_to_its_latest_booking(database: Engine) -> None:
    at = BASE + DAY
    rows = _report(
        database,
        [
            Event("u1", "appointment.booked", at, {"appointment_id": "p1", "doctor_id": "d1"}),
            # Rebooked with another doctor: the payment and refund follow the appointment.
            Event(
                "u1", "appointment.booked", at + DAY, {"appointment_id": "p1", "doctor_id": "d2"}
            ),
            Event("u1", "appointment.paid", at + 2 * DAY, {"appointment_id": "p1", "amount": 880}),
            Event(
                "u1", "appointment.refunded", at + 3 * DAY, {"appointment_id": "p1", "amount": 80.5}
            ),
            # Another customer's p1 is another appointment.
            Event("u2", "appointment.paid", at, {"appointment_id": "p1", "amount": 1}),
        ],
    )
    assert rows["d1"]["bookings"] == 1 and rows["d1"]["paid"] == 0
    assert (rows["d2"]["bookings"], rows["d2"]["paid"], rows["d2"]["refunded"]) == (1, 1, 1)
    assert rows["d2"]["revenue"] == Decimal("799.50")
    assert (rows[NONE]["paid"], rows[NONE]["revenue"]) == (1, Decimal("1.00"))


def test_a_booking_before_the_range_still_names_the_doctor(database: Engine) -> None:
    rows = _report(
        database,
        [
            Event(
                "u1",
                "appointment.booked",
                BASE - 20 * DAY,
                {"appointment_id": "p1", "doctor_id": "d1"},
            ),
            Event("u1", "appointment.cancelled", BASE, {"appointment_id": "p1"}),
            # On the range's end: outside (half-open).
            Event("u1", "appointment.paid", BASE + 10 * DAY, {"appointment_id": "p1", "amount": 5}),
        ],
    )
    assert rows == {
        "d1": {
            "views": 0,
            "consultations": 0,
            "bookings": 0,
            "paid": 0,
            "cancelled": 1,
            "refunded": 0,
            "revenue": Decimal("0.00"),
            "new_customers": 0,  # no first touch: their first event, the booking, is before
        }
    }


def test_of_two_bookings_at_one_instant_the_one_stored_last_counts(database: Engine) -> None:
    at = BASE + DAY
    booked = {"appointment_id": "p1"}
    rows = _report(
        database,
        [
            Event("u1", "appointment.booked", at, {**booked, "doctor_id": "d2"}),
            Event("u1", "appointment.booked", at, {**booked, "doctor_id": "d1"}),
            Event("u1", "appointment.paid", at, {**booked, "amount": 3}),
        ],
    )
    assert (rows["d1"]["paid"], rows["d2"]["paid"]) == (1, 0)
