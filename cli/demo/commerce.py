"""Bookings and mall orders: the funnel's bottom.

A customer who consulted a doctor, looked at the mall or filled a form books more
often. A booking is preceded by the package page in the mall, and then paid (most),
has its payment cancelled (``payment_recovery`` takes over, ``cli.demo.recovery``), or
is left unpaid; a paid one may be rescheduled, missed, cancelled and refunded, and an
ortho-k assessment often ends in a lens fitted (``orthok.fitted``, the example
workspace's own conversion). Amounts are yuan with two decimals.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from cli.demo.calendar import CLINIC, ZONE
from cli.demo.chain import CLINICS, MALL, ORTHOK_PRICE, PACKAGES, Package, doctors_of
from cli.demo.life import Life
from cli.demo.recovery import TAG, Appointment, recover

__all__ = ["shop"]

_BASE = {"qrcode": 0.14, "wecom": 0.2, "web": 0.16, "live": 0.12, "wechat_follow": 0.1}


def shop(life: Life) -> None:
    """The customer's own bookings (outside a journey's goal window), the bookings a
    journey decided, and mall orders."""
    rng = life.rng
    chance = _BASE.get(life.profile.acquisition, 0.08)
    chance += 0.15 * life.consulted + 0.12 * life.saw_mall + 0.08 * life.filled_form
    if rng.random() < chance:
        for _ in range(2 if rng.random() < 0.15 else 1):
            day = life.day_between(life.first_day, life.last_day)
            at = max(life.calendar.moment(rng, day), life.first_at + timedelta(minutes=30))
            if life.free(at):
                life.bookings.append(at)
    for n, at in enumerate(sorted(life.bookings)):
        _book(life, at, n)
    if rng.random() < 0.05 + 0.2 * life.saw_mall:
        day = life.day_between(life.first_day, life.last_day)
        _order(life, max(life.calendar.moment(rng, day), life.first_at + timedelta(minutes=20)))


def _package(life: Life) -> Package:
    fitting = [p for p in PACKAGES if p.audience == life.profile.persona]
    (package,) = life.rng.choices(fitting, weights=[p.weight for p in fitting])
    return package


def _book(life: Life, at: datetime, n: int) -> None:
    rng = life.rng
    home = life.profile.clinic
    clinic = home if rng.random() < 0.9 else rng.choice(CLINICS)
    day = life.calendar.day_of(at) + rng.randint(1, 10)
    visit = life.calendar.moment(rng, day, CLINIC)
    appointment = Appointment(
        id=f"A{life.profile.index:06d}{n}",
        package=_package(life),
        clinic_id=clinic.id,
        doctor_id=rng.choice(doctors_of(clinic.id)).id,
        booked_at=at,
        visit_at=visit,
    )
    look = at - timedelta(minutes=rng.randrange(3, 40))
    life.add(look, "page.viewed", {"page": "mall", "clinic_id": clinic.id}, life.app_via())
    life.consent("service", None, at)
    booked = {
        "appointment_id": appointment.id,
        "clinic_id": clinic.id,
        "doctor_id": appointment.doctor_id,
        "package": appointment.package.name,
        "amount": float(appointment.package.amount),
        "appointment_at": visit.astimezone(ZONE).isoformat(timespec="minutes"),
    }
    life.add(at, "appointment.booked", booked, life.member_via())
    draw = rng.random()
    if draw < 0.72:
        paid = at + timedelta(minutes=rng.randrange(1, 30))
        life.add(paid, "appointment.paid", appointment.properties(), life.member_via())
        _after_payment(life, appointment, paid)
    elif draw < 0.84:
        gave_up = at + timedelta(minutes=rng.randrange(3, 20))
        lost = appointment.properties()
        life.add(gave_up, "appointment.payment_cancelled", lost, life.member_via())
        if any(t.tag == TAG for t in life.tags):
            return  # tagged before: the tag is not added again, no journey starts
        paid_later = recover(life, appointment, gave_up)
        if paid_later is not None:
            _after_payment(life, appointment, paid_later)
    elif rng.random() < 0.5:
        gone = at + timedelta(hours=rng.randrange(12, 72))
        life.add(gone, "appointment.cancelled", appointment.properties(), life.member_via())


def _after_payment(life: Life, appointment: Appointment, paid: datetime) -> None:
    """What becomes of a paid appointment: kept (mostly), moved, missed, refunded; an
    ortho-k assessment that was kept often ends in a lens."""
    rng = life.rng
    via = life.member_via()
    money = appointment.properties()
    visit = max(appointment.visit_at, paid + timedelta(hours=2))
    draw = rng.random()
    if draw < 0.05:
        life.add(visit + timedelta(hours=2), "appointment.no_show", money, via)
        return
    if draw < 0.10:
        gone = paid + timedelta(hours=rng.randrange(1, 48))
        life.add(gone, "appointment.cancelled", money, via)
        life.add(gone + timedelta(hours=rng.randrange(1, 24)), "appointment.refunded", money, via)
        return
    if draw < 0.12:
        back = visit + timedelta(days=rng.randrange(1, 5))
        life.add(back, "appointment.refunded", money, via)
        return
    if draw < 0.20:
        visit = visit + timedelta(days=rng.randrange(1, 10))
        moved = {"appointment_id": appointment.id, "appointment_at": visit.isoformat()}
        life.add(
            paid + timedelta(hours=rng.randrange(1, 72)), "appointment.rescheduled", moved, via
        )
    if appointment.package.id == "orthok_assessment" and rng.random() < 0.55:
        _fitting(life, appointment, visit)


def _fitting(life: Life, appointment: Appointment, visit: datetime) -> None:
    rng = life.rng
    day = life.calendar.day_of(visit) + rng.randint(3, 10)
    fitted = life.calendar.moment(rng, day, CLINIC)
    lens = {
        "lens_id": f"L{appointment.id[1:]}",
        "fitted_at": fitted.astimezone(ZONE).isoformat(timespec="minutes"),
        "amount": float(ORTHOK_PRICE),
        "clinic_id": appointment.clinic_id,
    }
    life.add(fitted, "orthok.fitted", lens, "phone")
    if rng.random() < 0.02:
        refund = {"lens_id": lens["lens_id"], "amount": float(ORTHOK_PRICE)}
        life.add(fitted + timedelta(days=rng.randrange(3, 20)), "orthok.refunded", refund, "phone")


def _order(life: Life, at: datetime) -> None:
    rng = life.rng
    lines = [(item, rng.randint(1, 2)) for item in rng.sample(MALL, rng.randint(1, 3))]
    items = [
        {"sku": item.sku, "name": item.name, "qty": qty, "price": float(item.price)}
        for item, qty in lines
    ]
    amount = float(sum((item.price * qty for item, qty in lines), Decimal(0)))
    order = {
        "order_id": f"O{life.profile.index:06d}0",
        "amount": amount,
        "clinic_id": life.profile.clinic.id,
        "items": items,
    }
    via = life.member_via()
    life.add(at, "order.placed", order, via)
    if rng.random() < 0.85:
        paid = at + timedelta(minutes=rng.randrange(1, 10))
        life.add(paid, "order.paid", order, via)
        if rng.random() < 0.06:
            life.add(paid + timedelta(days=rng.randrange(2, 8)), "order.refunded", order, via)
