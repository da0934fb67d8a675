"""Acquisition: the SQL report against the contract's definitions in plain Python, on
generated populations and cost rows (SQLite, and PostgreSQL with
CAREPATH_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from engine.models.reports.scope import FirstTouchField, ReportScope
from engine.store.sql.reports.acquisition import acquisition_report
from tests.engine.store.reports.cohorts import (
    GROUPABLE,
    Cost,
    cost_of,
    costs,
    figures,
    loaded_with_costs,
    per,
    rate,
    touched_populations,
    yuan,
)
from tests.engine.store.reports.population import Customer, Population, database, scope

pytestmark = pytest.mark.db
__all__ = ["database"]

WINDOWS = [dt.timedelta(days=d) for d in (60, 30, 7, 1)]


def oracle(
    population: Population,
    rows: list[Cost],
    scope: ReportScope,
    by: list[FirstTouchField],
    window: dt.timedelta,
) -> list[dict[str, Any]]:
    """Contract section 2: new customers = first touch in the range, by its fields;
    converted = a conversion within the window after it; revenue = their conversions
    minus refunds in that window; costs matched on the dimensions a row names."""
    groups = {k: g for k, g in figures(population, scope, by, window).items() if g.new}
    spent, _ = cost_of(rows, scope, by)
    keys = sorted(
        set(groups) | set(spent or {}), key=lambda k: (-(groups[k].new if k in groups else 0), k)
    )
    expected = []
    for key in keys:
        g = groups.get(key)
        new, converted = (g.new, g.converted) if g else (0, 0)
        revenue, conversions = (g.revenue, g.conversions) if g else (0, 0)
        cost = None if spent is None else spent.get(key, 0)
        expected.append(
            {
                **dict(zip(by, key, strict=True)),
                "new_customers": new,
                "converted": converted,
                "conversion_rate": rate(converted, new),
                "revenue": yuan(revenue),
                "average_order_value": per(revenue, conversions),
                "cost": None if cost is None else yuan(cost),
                "traffic_cost": per(cost, new),
                "cost_per_conversion": per(cost, converted),
                "roi": rate(revenue, cost),
            }
        )
    return expected


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    population=touched_populations(),
    rows=costs(),
    clinics=st.sampled_from([None, ("c1",), ("c1", "c2"), ()]),
    by=st.lists(st.sampled_from(GROUPABLE), max_size=2, unique=True),
    window=st.sampled_from(WINDOWS),
)
def test_matches_the_definition(
    database: Engine,
    population: Population,
    rows: list[Cost],
    clinics: tuple[str, ...] | None,
    by: list[FirstTouchField],
    window: dt.timedelta,
) -> None:
    asked = scope(days=10, clinics=clinics)
    with loaded_with_costs(database, population, rows) as s:
        report = acquisition_report(s, asked, by, window)
    assert [r.model_dump() for r in report.rows] == oracle(population, rows, asked, by, window)
    assert report.by == by


@pytest.mark.parametrize(
    ("after_close", "provisional"),
    [(-dt.timedelta(microseconds=1), True), (dt.timedelta(), False), (dt.timedelta(days=1), False)],
)
def test_provisional_until_the_last_window_closes(
    database: Engine, after_close: dt.timedelta, provisional: bool
) -> None:
    asked, window = scope(days=10), dt.timedelta(days=7)
    now = asked.until + window + after_close
    with loaded_with_costs(database, Population([Customer("u0", None)], [], []), []) as s:
        report = acquisition_report(s, asked, ["channel"], window, now=now)
    assert (report.rows, report.provisional) == ([], provisional)
