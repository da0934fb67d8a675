"""The dashboard's figures as cards: each seed KPI of a period beside the same KPI of
the period of equal length just before it, and the change between them.

Pure data: the handler (``api/console/dashboard.py``) asks the store for the two
reports, these functions pair them up, the template words and formats them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from engine.models.reports.kpis import KpiRow
from engine.models.reports.scope import MAX_DAYS

Kind = Literal["count", "rate", "money"]
Figure = int | float | Decimal | None
#: The dashboard's range when none is asked for: the last 30 days, today included.
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Kpi:
    """One card: the ``KpiRow`` field it shows, how to read it, and which way is good."""

    field: str
    kind: Kind
    lower_is_better: bool = False


#: The seed KPIs in the order the cards show them: 流量, 转化率, 有效流量, 客单价,
#: 销售额, 传播率, 流量成本.
KPIS: tuple[Kpi, ...] = (
    Kpi("traffic", "count"),
    Kpi("conversion_rate", "rate"),
    Kpi("effective_traffic", "count"),
    Kpi("average_order_value", "money"),
    Kpi("sales", "money"),
    Kpi("spread_rate", "rate"),
    Kpi("traffic_cost", "money", lower_is_better=True),
)


@dataclass(frozen=True)
class Period:
    """Local days ``first`` to ``last``, both included."""

    first: dt.date
    last: dt.date

    @property
    def end(self) -> dt.date:
        """The day after the period (the reports' half-open ``to``)."""
        return self.last + dt.timedelta(days=1)

    @property
    def days(self) -> int:
        """How many days the period has."""
        return (self.end - self.first).days

    def previous(self) -> Period:
        """The period of equal length that ends the day before this one begins."""
        return Period(self.first - dt.timedelta(days=self.days), self.first - dt.timedelta(days=1))

    @classmethod
    def ending(cls, today: dt.date, days: int = DEFAULT_DAYS) -> Period:
        """The ``days`` days up to and including ``today``."""
        return cls(today - dt.timedelta(days=days - 1), today)


PeriodProblem = Literal["bad_date", "backwards", "too_long"]


def period_of(
    first: str | None, last: str | None, today: dt.date
) -> tuple[Period, PeriodProblem | None]:
    """The period a filter form asks for (ISO dates; a missing one from the default
    range); the default range and what is wrong when it cannot be read."""
    default = Period.ending(today)
    try:
        asked = Period(
            dt.date.fromisoformat(first) if first else default.first,
            dt.date.fromisoformat(last) if last else default.last,
        )
    except ValueError:
        return default, "bad_date"
    if asked.last < asked.first:
        return default, "backwards"
    if asked.days > MAX_DAYS:
        return default, "too_long"
    return asked, None


@dataclass(frozen=True)
class KpiCard:
    """One KPI of the period, the previous period's, and the change between them:
    relative for counts and money, in percentage points (a difference of fractions)
    for rates; None when either value is missing or the previous is zero."""

    kpi: Kpi
    value: Figure
    previous: Figure
    change: float | None

    @property
    def tone(self) -> Literal["good", "bad", "flat"]:
        """Whether the change is good news, bad news, or none."""
        if not self.change:
            return "flat"
        rising = self.change > 0
        return "bad" if rising == self.kpi.lower_is_better else "good"


def change_of(kind: Kind, value: Figure, previous: Figure) -> float | None:
    """The change from ``previous`` to ``value`` (see ``KpiCard``)."""
    if value is None or previous is None:
        return None
    if kind == "rate":
        return float(value) - float(previous)
    if previous == 0:
        return None
    return (float(value) - float(previous)) / float(previous)


def cards(current: KpiRow, previous: KpiRow) -> list[KpiCard]:
    """The cards of the seed KPIs, from the total rows of two periods' reports."""
    out: list[KpiCard] = []
    for kpi in KPIS:
        value, before = getattr(current, kpi.field), getattr(previous, kpi.field)
        out.append(KpiCard(kpi, value, before, change_of(kpi.kind, value, before)))
    return out
