"""The spread rate when shares are not activity: a customer who only shared in the range
counts by their first touch, and without one only if some activity event (at any time)
gives them a first touch (SQLite, and PostgreSQL with CAREPATH_TEST_DATABASE_URL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from engine.models.events import effective_roles
from engine.store.sql.reports.kpis import kpi_report
from tests.engine.store.reports.cohorts import figures, loaded_with_costs
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

#: A workspace whose shares are never activity.
SHARES_EXCLUDED = effective_roles({"activity_exclude": ["his.sync.*", "share.sent"]})


def test_a_customer_who_only_shared_counts_by_their_first_touch(database: Engine) -> None:
    before = BASE - dt.timedelta(days=20)
    during = BASE + dt.timedelta(days=1)
    population = Population(
        [Customer(f"u{i}", None) for i in range(5)],
        [
            Touch("u2", before, True, {"utm_source": "baidu"}),
            Touch("u3", before, True, {"utm_source": "baidu"}),
        ],
        [
            Event("u0", "share.sent", during),  # no touch, never active: no first touch
            Event("u1", "share.sent", during),  # no touch, active before: (none)
            Event("u1", "page.viewed", before),
            Event("u2", "share.sent", during),  # baidu, sharing, not active
            Event("u3", "page.viewed", during),  # baidu, active
            Event("u4", "share.sent", during),  # no touch, active after the range: (none)
            Event("u4", "page.viewed", BASE + dt.timedelta(days=30)),
        ],
    )
    asked = scope(days=10).model_copy(update={"roles": SHARES_EXCLUDED})
    with loaded_with_costs(database, population, []) as s:
        report = kpi_report(s, asked, ["utm_source"], dt.timedelta(days=60))
    got = {r.utm_source: (r.active_customers, r.sharing_customers) for r in report.rows}
    expected = {
        key[0]: (g.active, g.sharing)
        for key, g in figures(population, asked, ["utm_source"], dt.timedelta(days=60)).items()
    }
    assert got == expected == {"baidu": (1, 1), "(none)": (0, 2)}
    assert (report.total.active_customers, report.total.sharing_customers) == (1, 3)
