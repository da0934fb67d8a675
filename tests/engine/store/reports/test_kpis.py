"""The seed KPIs: the SQL report against the contract's definitions in plain Python, on
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
from engine.store.sql.reports.kpis import kpi_report
from tests.engine.store.reports.cohorts import (
    GROUPABLE,
    Cost,
    Figures,
    cost_of,
    costs,
    figures,
    loaded_with_costs,
    per,
    rate,
    touched_populations,
    yuan,
)
from tests.engine.store.reports.population import (
    BASE,
    Customer,
    Event,
    Population,
    Touch,
    database,
    scope,
)

pytestmark = pytest.mark.db
__all__ = ["database"]


def kpis(g: Figures, cost: int | None, **group: str) -> dict[str, Any]:
    """Contract section 2, "The seed KPIs", from a group's figures (money in fen)."""
    return {
        **group,
        "traffic": g.new,
        "conversion_rate": rate(g.converted, g.new),
        "effective_traffic": g.converted,
        "average_order_value": per(g.revenue, g.conversions),
        "sales": yuan(g.revenue),
        "spread_rate": rate(g.sharing, g.active),
        "active_customers": g.active,
        "sharing_customers": g.sharing,
        "cost": None if cost is None else yuan(cost),
        "traffic_cost": per(cost, g.new),
        "cost_per_conversion": per(cost, g.converted),
        "roi": rate(g.revenue, cost),
    }


def oracle(
    population: Population,
    rows: list[Cost],
    scope: ReportScope,
    by: list[FirstTouchField],
    window: dt.timedelta,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each group's KPIs, most traffic first, and the whole range's."""
    groups = figures(population, scope, by, window)
    spent, total_cost = cost_of(rows, scope, by)
    keys = set(groups) | set(spent or {})
    ordered = sorted(keys, key=lambda k: (-(groups[k].new if k in groups else 0), k))
    expected = [
        kpis(
            groups.get(k, Figures()),
            None if spent is None else spent.get(k, 0),
            **dict(zip(by, k, strict=True)),
        )
        for k in ordered
    ]
    whole = Figures()
    for g in groups.values():
        whole.new += g.new
        whole.converted += g.converted
        whole.conversions += g.conversions
        whole.revenue += g.revenue
        whole.active += g.active
        whole.sharing += g.sharing
    return expected, kpis(whole, total_cost)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    population=touched_populations(),
    rows=costs(),
    clinics=st.sampled_from([None, ("c1",), ("c1", "c2"), ()]),
    by=st.lists(st.sampled_from(GROUPABLE), max_size=2, unique=True),
    window=st.sampled_from([dt.timedelta(days=60), dt.timedelta(days=7)]),
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
        report = kpi_report(s, asked, by, window)
    expected_rows, expected_total = oracle(population, rows, asked, by, window)
    assert [r.model_dump() for r in report.rows] == expected_rows
    assert report.total.model_dump() == expected_total


def test_spread_counts_old_customers_by_their_first_touch(database: Engine) -> None:
    """传播率 reads every customer active in the range, grouped by their first touch,
    new or not: here two baidu customers from before the range, one of whom shared."""
    before = BASE - dt.timedelta(days=20)
    population = Population(
        [Customer("u0", None), Customer("u1", None), Customer("u2", None)],
        [
            Touch("u0", before, True, {"utm_source": "baidu"}),
            Touch("u1", before, True, {"utm_source": "baidu"}),
            Touch("u2", BASE, True, {"utm_source": "dianping"}),
        ],
        [
            Event("u0", "page.viewed", BASE),
            Event("u1", "share.sent", BASE + dt.timedelta(days=1)),
            Event("u2", "his.sync.visit", BASE),  # not activity: u2 is new, not active
        ],
    )
    with loaded_with_costs(database, population, []) as s:
        report = kpi_report(s, scope(days=10), ["utm_source"], dt.timedelta(days=60))
    got = {
        r.utm_source: (r.traffic, r.active_customers, r.sharing_customers, r.spread_rate)
        for r in report.rows
    }
    assert got == {"baidu": (0, 2, 1, 0.5), "dianping": (1, 0, 0, None)}
    assert (report.total.traffic, report.total.spread_rate) == (1, 0.5)
