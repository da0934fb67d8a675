"""New customers and conversions per day: the one-statement SQL against the acquisition
report of each day alone, its groups added up, on generated populations (SQLite, and
PostgreSQL with CAREPATH_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from engine.models.reports.acquisition_days import AcquisitionDay, AcquisitionDays
from engine.models.reports.scope import ReportScope
from engine.store.sql import SqlStore
from engine.store.sql.reports.acquisition import acquisition_report
from engine.store.sql.reports.acquisition_days import acquisition_days
from tests.engine.store.reports.cohorts import touched_populations
from tests.engine.store.reports.population import (
    ROLES,
    START,
    Customer,
    Event,
    Population,
    Touch,
    database,
    insert_population,
    loaded,
)

pytestmark = pytest.mark.db
__all__ = ["database"]

WINDOWS = [dt.timedelta(days=d) for d in (60, 7, 1)]
#: Asia/Shanghai, the populations' own; America/Havana moves its clocks at local
#: midnight on 2026-03-08 (that day begins at 01:00); UTC, far from both.
ZONES = ("Asia/Shanghai", "America/Havana", "UTC")
#: Instants the days are provisional against: inside the range, after every window.
EARLY = dt.datetime(2026, 3, 5, tzinfo=dt.UTC)
LATER = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def asked(
    days: int, clinics: tuple[str, ...] | None = None, timezone: str = "Asia/Shanghai"
) -> ReportScope:
    return ReportScope(
        start=START,
        end=START + dt.timedelta(days=days),
        timezone=timezone,
        clinics=clinics,
        roles=ROLES,
    )


def each_days_report(
    s: Session, scope: ReportScope, window: dt.timedelta, now: dt.datetime
) -> AcquisitionDays:
    """What the acquisition days are defined as: the acquisition report of each day of
    the range alone (``from=D&to=D+1``), its groups added up."""
    rows = []
    provisional = False
    for day in scope.days():
        alone = scope.model_copy(update={"start": day, "end": day + dt.timedelta(days=1)})
        report = acquisition_report(s, alone, [], window, now=now)
        provisional = provisional or report.provisional
        rows.append(
            AcquisitionDay(
                date=day,
                new_customers=sum(r.new_customers for r in report.rows),
                converted=sum(r.converted for r in report.rows),
            )
        )
    return AcquisitionDays(rows=rows, provisional=provisional)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    population=touched_populations(),
    clinics=st.sampled_from([None, ("c1",), ("c1", "c2"), ()]),
    timezone=st.sampled_from(ZONES),
    days=st.sampled_from([10, 10, 1, 0]),
    window=st.sampled_from(WINDOWS),
    now=st.sampled_from([EARLY, LATER]),
)
def test_each_day_is_that_days_acquisition_report(
    database: Engine,
    population: Population,
    clinics: tuple[str, ...] | None,
    timezone: str,
    days: int,
    window: dt.timedelta,
    now: dt.datetime,
) -> None:
    scope = asked(days, clinics, timezone)
    with loaded(database, population) as s:
        found = acquisition_days(s, scope, window, now=now)
        if days:
            assert found == each_days_report(s, scope, window, now)
        else:
            assert found.rows == []
    assert [row.date for row in found.rows] == scope.days()


def _midnight_population(zone: str) -> tuple[Population, list[AcquisitionDay]]:
    """Customers first touched either side of local midnights (one of them without a
    first touch: their first activity event counts), one of them converting a
    microsecond before their window closes, another merged away; and the days the
    range's first nine local days should show."""
    scope = asked(10, timezone=zone)
    us = dt.timedelta(microseconds=1)
    eighth = scope.instant(START + dt.timedelta(days=7))  # 2026-03-08, 01:00 in Havana
    ninth = scope.instant(START + dt.timedelta(days=8))
    week = dt.timedelta(days=7)
    customers = [Customer(f"u{i}", "c1") for i in range(4)]
    customers.append(Customer("merged", "c1", merged_into="u0"))
    touches = [
        Touch("u0", eighth - us, True, {"channel": "web"}),
        Touch("u1", eighth, True, {}),
        Touch("u1", ninth - us, False, {"channel": "web"}),  # not a first touch
        Touch("u3", scope.since - us, True, {}),  # the day before the range
    ]
    events = [
        Event("u0", "appointment.paid", eighth - us + week - us, {"amount": 100}),
        Event("u1", "order.paid", eighth + week, {"amount": 100}),  # the window has closed
        Event("u2", "page.viewed", ninth - us),  # no first touch: the first activity
        Event("u2", "appointment.paid", ninth, {"amount": 100}),
        Event("u3", "order.paid", scope.since, {"amount": 100}),
    ]
    expected = [AcquisitionDay(date=d, new_customers=0, converted=0) for d in scope.days()]
    expected[6] = AcquisitionDay(date=expected[6].date, new_customers=1, converted=1)
    expected[7] = AcquisitionDay(date=expected[7].date, new_customers=2, converted=1)
    return Population(customers, touches, events), expected


@pytest.mark.parametrize("zone", ZONES)
def test_a_day_ends_at_local_midnight(database: Engine, zone: str) -> None:
    population, expected = _midnight_population(zone)
    scope = asked(10, timezone=zone)
    window = dt.timedelta(days=7)
    with loaded(database, population) as s:
        found = acquisition_days(s, scope, window, now=LATER)
        assert found == each_days_report(s, scope, window, LATER)
    assert found.rows == expected
    assert not found.provisional


@pytest.mark.parametrize(
    ("clinics", "new"), [(None, [1, 2]), (("c1",), [1, 2]), (("c2",), [0, 0]), ((), [0, 0])]
)
def test_the_store_counts_the_scopes_clinics(
    sql_store: SqlStore, clinics: tuple[str, ...] | None, new: list[int]
) -> None:
    population, _ = _midnight_population("America/Havana")
    with sql_store._db.engine.begin() as conn:
        insert_population(conn, population)
    found = sql_store.acquisition_days(asked(10, clinics, "America/Havana"), dt.timedelta(days=7))
    assert [row.new_customers for row in found.rows][6:8] == new
    assert sum(row.new_customers for row in found.rows) == sum(new)
    empty = sql_store.acquisition_days(asked(0, clinics), dt.timedelta(days=7))
    assert empty.rows == []
