"""Active customers: the SQL report against the contract's definition in plain Python,
on generated populations (SQLite, and PostgreSQL with CAREPATH_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from engine.models.reports.active import ActiveDay
from engine.models.reports.scope import ReportScope
from engine.store.sql.reports.active import active_report
from tests.engine.store.reports.population import (
    Population,
    database,
    loaded,
    local,
    populations,
    scope,
)

pytestmark = pytest.mark.db

ZONES = ("Asia/Shanghai", "UTC", "America/Havana")
__all__ = ["database"]


def oracle(population: Population, scope: ReportScope) -> list[ActiveDay]:
    """Contract section 2: active on D = an activity event on D (local); WAU over D-6..D,
    MAU over D-29..D; stickiness = DAU / MAU."""
    live = {c.id for c in population.live(scope)}
    days = {
        (e.customer_id, local(e.at, scope.zone))
        for e in population.events
        if e.customer_id in live and scope.roles.is_activity(e.name)
    }

    def active(day: dt.date, back: int) -> int:
        return len({c for c, d in days if day - dt.timedelta(days=back) <= d <= day})

    rows = []
    for day in scope.days():
        dau, mau = active(day, 0), active(day, 29)
        rows.append(
            ActiveDay(
                date=day,
                dau=dau,
                wau=active(day, 6),
                mau=mau,
                stickiness=round(dau / mau, 4) if mau else None,
            )
        )
    return rows


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    population=populations(),
    clinics=st.sampled_from([None, ("c1",), ()]),
    timezone=st.sampled_from(ZONES),
)
def test_matches_the_definition(
    database: Engine, population: Population, clinics: tuple[str, ...] | None, timezone: str
) -> None:
    """In the populations' zone, in UTC, and in America/Havana, whose 2026-03-08 begins
    at 01:00 (the days are found among local midnights on SQLite)."""
    asked = scope(days=10, clinics=clinics, timezone=timezone)
    with loaded(database, population) as s:
        assert active_report(s, asked).rows == oracle(population, asked)
