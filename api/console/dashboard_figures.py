"""The dashboard's figures, asked of the reports' services as the ``/v1`` routes ask
them: the scope ``make_scope`` makes for the user's ``Caller`` (staff count only their
clinics), the default conversion window, the default grouping.

- the KPI cards: the total row of ``store.kpi_report`` (``GET /v1/reports/kpis``) of the
  range and of the range before it;
- the trends, per day of the range: new customers and those of them who converted
  (``store.acquisition_days``, one statement for the range that gives each day what
  the acquisition report of that one day, ``GET /v1/reports/acquisition?from=D&to=D+1``,
  gives with its groups added up) and active customers (the DAU of
  ``store.active_report``, ``GET /v1/reports/active``);
- the top sources: the first rows of the acquisition report of the range by channel.

These are the reports' own numbers: nothing here counts anything itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from api.console.kpi_cards import Period
from api.deps import Caller
from api.routes.reports.scope import by_fields, make_scope
from engine.models.reports.acquisition import AcquisitionRow
from engine.models.reports.kpis import KpiRow
from engine.models.reports.scope import DEFAULT_WINDOW, ReportScope
from engine.settings import Settings
from engine.store.service_store import ServiceStore

#: How many sources the dashboard lists.
TOP_SOURCES = 5


async def scope_of(
    caller: Caller, store: ServiceStore, settings: Settings, period: Period, clinic: str | None
) -> ReportScope:
    """The report scope of ``period`` and ``clinic``, narrowed to the user's clinics."""
    return await make_scope(caller, store, settings, period.first, period.end, None, clinic)


async def kpi_total(store: ServiceStore, scope: ReportScope) -> tuple[KpiRow, bool]:
    """The KPI report's total row for ``scope``, and whether it is provisional."""
    report = await asyncio.to_thread(store.kpi_report, scope, by_fields(None), DEFAULT_WINDOW)
    return report.total, report.provisional


TrendKey = Literal["new_customers", "converted", "active"]
#: The trends' figures, in the order the page draws them.
TREND_KEYS: tuple[TrendKey, ...] = ("new_customers", "converted", "active")


@dataclass(frozen=True)
class TrendDay:
    """One day of the trends: new customers (first touch that day), those of them who
    converted within the window, and customers active that day."""

    day: dt.date
    new_customers: int
    converted: int
    active: int


@dataclass(frozen=True)
class Trends:
    """The days of the range in order; ``provisional``: conversions may still come."""

    days: list[TrendDay]
    provisional: bool

    def categories(self) -> list[str]:
        """The days as the chart's axis reads them (ISO dates)."""
        return [d.day.isoformat() for d in self.days]

    def series(self, key: TrendKey) -> list[int]:
        """One figure of every day, in order."""
        return [getattr(d, key) for d in self.days]

    def total(self, key: TrendKey) -> int:
        """The figure added up over the range."""
        return sum(self.series(key))

    def peak(self, key: TrendKey) -> TrendDay | None:
        """The (first) day with the most, None when every day has none."""
        best = max(self.days, key=lambda d: getattr(d, key), default=None)
        return best if best is not None and getattr(best, key) > 0 else None


async def trends(store: ServiceStore, scope: ReportScope) -> Trends:
    """New customers, conversions and active customers per day of ``scope``."""
    acquired, active = await asyncio.gather(
        asyncio.to_thread(store.acquisition_days, scope, DEFAULT_WINDOW),
        asyncio.to_thread(store.active_report, scope),
    )
    dau = {row.date: row.dau for row in active.rows}
    days = [
        TrendDay(
            day=row.date,
            new_customers=row.new_customers,
            converted=row.converted,
            active=dau.get(row.date, 0),
        )
        for row in acquired.rows
    ]
    return Trends(days, acquired.provisional)


@dataclass(frozen=True)
class Sources:
    """The range's first-touch channels with the most new customers, and how many
    customers all channels brought."""

    rows: list[AcquisitionRow]
    new_customers: int
    provisional: bool


async def top_sources(store: ServiceStore, scope: ReportScope) -> Sources:
    """The acquisition report of ``scope`` by channel: its first rows with new
    customers (the report orders them most first)."""
    report = await asyncio.to_thread(
        store.acquisition_report, scope, by_fields(None), DEFAULT_WINDOW
    )
    brought = [row for row in report.rows if row.new_customers > 0]
    total = sum(row.new_customers for row in brought)
    return Sources(brought[:TOP_SOURCES], total, report.provisional)
