"""Clinics: the SQL report against the contract's definition in plain Python, on
generated populations of follows, bookings, payments and refunds around window edges
(SQLite, and PostgreSQL with CAREPATH_TEST_DATABASE_URL), and the named cases."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from engine.models.reports.clinics import ClinicRow, ClinicsReport, Followers
from engine.models.reports.scope import DEFAULT_WINDOW, NONE, ReportScope
from engine.store.sql.reports.clinics import clinics_report
from tests.engine.store.reports.population import (
    BASE,
    Customer,
    Event,
    Population,
    Touch,
    database,
    instants,
    loaded,
    scope,
)
from tests.engine.store.reports.test_doctors import fen, first_touch

pytestmark = pytest.mark.db
__all__ = ["database"]

NAMES = (
    "page.viewed",
    "wechat.subscribed",
    "wechat.unsubscribed",
    "appointment.booked",
    "order.placed",
    "appointment.paid",
    "order.paid",
    "appointment.refunded",
    "order.refunded",
    "appointment.cancelled",
    "carepath.channel_alert",
    "his.sync.visit",
)
DAY = dt.timedelta(days=1)


def oracle(
    population: Population, scope: ReportScope, window: dt.timedelta, now: dt.datetime
) -> ClinicsReport:
    """Contract sections 2 and 3 (clinics): by the customer's clinic_id attribute."""
    roles = scope.roles
    home = {c.id: c.clinic or NONE for c in population.live(scope)}
    figures: dict[str, Counter[str]] = defaultdict(Counter)
    followers: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for e in population.events:
        if e.customer_id not in home or not scope.since <= e.at < scope.until:
            continue
        clinic = figures[home[e.customer_id]]
        clinic["bookings"] += e.name in roles.names("booking")
        paid, refund = e.name in roles.names("conversion"), e.name in roles.names("refund")
        clinic["paid"] += paid
        clinic["revenue_fen"] += fen(e.properties) * (paid - refund)
        app = e.properties.get("app_id") or NONE
        if e.name in roles.names("follow") or e.name in roles.names("unfollow"):
            counts = followers[home[e.customer_id]][app]
            counts["gained"] += e.name in roles.names("follow")
            counts["lost"] += e.name in roles.names("unfollow")
    for customer, clinic_id in home.items():
        at, _ = first_touch(population, customer, scope)
        if at is None or not scope.since <= at < scope.until:
            continue
        clinic = figures[clinic_id]
        clinic["new"] += 1
        clinic["converted"] += any(
            e.customer_id == customer
            and e.name in roles.names("conversion")
            and at <= e.at < at + window
            for e in population.events
        )
        clinic["open"] += at + window > now
    rows = []
    for clinic_id in sorted(figures.keys() | followers.keys(), key=lambda c: (c == NONE, c)):
        f = figures[clinic_id]
        apps = {
            app: Followers(gained=c["gained"], lost=c["lost"], net=c["gained"] - c["lost"])
            for app, c in followers[clinic_id].items()
        }
        if not any(f.values()) and not apps:
            continue
        rows.append(
            ClinicRow(
                clinic_id=clinic_id,
                new_customers=f["new"],
                converted=f["converted"],
                conversion_rate=round(f["converted"] / f["new"], 4) if f["new"] else None,
                provisional=f["open"] > 0,
                followers_gained=sum(a.gained for a in apps.values()),
                followers_lost=sum(a.lost for a in apps.values()),
                followers=apps,
                bookings=f["bookings"],
                paid=f["paid"],
                revenue=Decimal(f["revenue_fen"]).scaleb(-2),
            )
        )
    provisional = any(r.provisional for r in rows)
    return ClinicsReport(rows=rows, window_days=window.days, provisional=provisional)


def _properties() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "app_id": st.sampled_from(["wx1", "wx2", ""]),
            "amount": st.sampled_from([100, 250.5, 0.01, "12", None]),
        },
    )


@st.composite
def clinic_customers(draw: st.DrawFn, max_customers: int = 6) -> Population:
    """Customers of c1, c2, an empty clinic_id and none, with follows and payments."""
    n = draw(st.integers(1, max_customers))
    homes = st.sampled_from(["c1", "c2", "", None])
    customers = [Customer(f"u{i}", draw(homes)) for i in range(n)]
    if n > 1 and draw(st.booleans()):
        customers.append(Customer("merged", customers[1].clinic, merged_into=customers[0].id))
    touches: list[Touch] = []
    events: list[Event] = []
    for c in customers[:n]:
        if draw(st.booleans()):
            touches.append(Touch(c.id, draw(instants()), True, {"channel": "qrcode"}))
        for _ in range(draw(st.integers(0, 7))):
            name = draw(st.sampled_from(NAMES))
            events.append(Event(c.id, name, draw(instants()), draw(_properties())))
    return Population(customers, touches, events)


#: "Now" on edges: a window after local midnight of the range's first day, and others.
NOWS = st.one_of(st.just(BASE + DEFAULT_WINDOW), instants(), st.just(BASE + 400 * DAY))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    population=clinic_customers(),
    clinics=st.sampled_from([None, ("c1",), ("c1", "c2"), ()]),
    now=NOWS,
    window=st.sampled_from([DEFAULT_WINDOW, 7 * DAY]),
)
def test_matches_the_definition(
    database: Engine,
    population: Population,
    clinics: tuple[str, ...] | None,
    now: dt.datetime,
    window: dt.timedelta,
) -> None:
    asked = scope(days=10, clinics=clinics)
    with loaded(database, population) as s:
        report = clinics_report(s, asked, window, now)
    assert report == oracle(population, asked, window, now)


# -- named cases ---------------------------------------------------------------------


def _report(
    database: Engine, customers: list[Customer], events: list[Event], now: dt.datetime
) -> ClinicsReport:
    with loaded(database, Population(customers, [], events)) as s:
        return clinics_report(s, scope(days=10), now=now)


def test_a_cohort_is_provisional_until_the_last_window_closes(database: Engine) -> None:
    customers = [Customer("u1", "c1"), Customer("u2", "c2")]
    events = [
        # u1 comes on the range's first instant and pays a window later: too late.
        Event("u1", "page.viewed", BASE),
        Event("u1", "appointment.paid", BASE + DEFAULT_WINDOW, {"amount": 10}),
        # u2 comes on the range's last day and pays the next day (outside the range).
        Event("u2", "page.viewed", BASE + 9 * DAY),
        Event("u2", "appointment.paid", BASE + 10 * DAY, {"amount": 20}),
    ]
    closing = BASE + 9 * DAY + DEFAULT_WINDOW
    open_ = _report(database, customers, events, now=closing - dt.timedelta(microseconds=1))
    closed = _report(database, customers, events, now=closing)
    assert [(r.clinic_id, r.converted, r.provisional) for r in open_.rows] == [
        ("c1", 0, False),
        ("c2", 1, True),
    ]
    assert open_.provisional and not closed.provisional
    # Revenue is the range's: neither payment lies in it.
    assert [r.revenue for r in closed.rows] == [Decimal("0.00"), Decimal("0.00")]


def test_followers_per_official_account_and_refunds(database: Engine) -> None:
    customers = [Customer("u1", "c1"), Customer("u2", "c1"), Customer("u3", None)]
    at = BASE + DAY
    events = [
        Event("u1", "wechat.subscribed", at, {"app_id": "wx-sz"}),
        Event("u1", "wechat.unsubscribed", at + DAY, {"app_id": "wx-sz"}),
        Event("u2", "wechat.subscribed", at, {"app_id": "wx-sz"}),
        Event("u2", "wechat.subscribed", at, {"app_id": "wx-eye"}),
        Event("u3", "wechat.subscribed", at, {}),
        Event("u2", "order.paid", at, {"amount": 300}),
        Event("u2", "order.refunded", at + DAY, {"amount": 120.5}),
    ]
    rows = {r.clinic_id: r for r in _report(database, customers, events, BASE).rows}
    assert rows["c1"].followers == {
        "wx-eye": Followers(gained=1, lost=0, net=1),
        "wx-sz": Followers(gained=2, lost=1, net=1),
    }
    assert (rows["c1"].followers_gained, rows["c1"].followers_lost) == (3, 1)
    assert (rows["c1"].paid, rows["c1"].revenue) == (1, Decimal("179.50"))
    assert rows[NONE].followers == {NONE: Followers(gained=1, lost=0, net=1)}
