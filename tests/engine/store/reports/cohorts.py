"""What the acquisition and KPI tests share: populations with richer first touches,
cost rows, and the contract's definitions in plain Python (first touch, cohort within
the window, costs matched on the dimensions a row names)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from engine.models.reports.scope import NONE, FirstTouchField, ReportScope
from engine.store.sql.tables import CostRow
from tests.engine.store.reports.population import (
    BASE,
    START,
    Event,
    Population,
    Touch,
    insert_population,
    populations,
)

#: The fields the tests group by: some costs name (clinic as clinic_id), one never.
GROUPABLE: tuple[FirstTouchField, ...] = (
    "channel",
    "utm_source",
    "utm_campaign",
    "activity",
    "clinic",
    "doctor",
)
#: The cost dimension of each first-touch field costs can name.
COST_DIMENSION = {
    "channel": "channel",
    "activity": "activity",
    "clinic": "clinic_id",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
}
DIMENSIONS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
DIMENSIONS += ("channel", "activity", "clinic_id")


@dataclass
class Cost:
    day: dt.date
    fen: int
    names: dict[str, str]  # the dimensions named; the others are ""

    def dimension(self, name: str) -> str:
        return self.names.get(name, "")


@dataclass
class Figures:
    """A group's figures by the contract's definitions (money in fen)."""

    new: int = 0
    converted: int = 0
    conversions: int = 0
    revenue: int = 0
    active: int = 0
    sharing: int = 0
    customers: set[str] = field(default_factory=set)


# -- strategies ---------------------------------------------------------------------


#: After a first touch: on it, either side of the windows the tests ask for, between.
_AFTER = [dt.timedelta(days=d, microseconds=us) for d in (0, 1, 7, 30, 60) for us in (-1, 0)]
_AFTER += [dt.timedelta(hours=5), dt.timedelta(days=3)]
_OUTCOMES = ("appointment.paid", "order.paid", "appointment.refunded", "order.refunded")


def _in_range() -> st.SearchStrategy[dt.datetime]:
    """Instants of the 10-day range, its first and last microsecond included."""
    end = dt.timedelta(days=10, microseconds=-1)
    offsets = st.one_of(
        st.sampled_from([dt.timedelta(), end]),
        st.integers(0, 10 * 1440 - 1).map(lambda m: dt.timedelta(minutes=m)),
    )
    return offsets.map(lambda d: BASE + d)


@st.composite
def touched_populations(draw: st.DrawFn) -> Population:
    """A population whose touches also name campaigns, clinics and doctors (an empty
    campaign is no value), with first touches often in the range and conversions and
    refunds often on the edges of the window after them."""
    population = draw(populations())
    extra = st.fixed_dictionaries(
        {},
        optional={
            "utm_campaign": st.sampled_from(["spring", "summer", ""]),
            "clinic": st.sampled_from(["c1", "c2"]),
            "doctor": st.sampled_from(["d1", "d2"]),
        },
    )
    touches: list[Touch] = []
    events = list(population.events)
    for t in population.touches:
        at = draw(st.one_of(st.just(t.at), _in_range())) if t.first else t.at
        touches.append(Touch(t.customer_id, at, t.first, {**t.fields, **draw(extra)}))
        if not t.first:
            continue
        for _ in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from(_OUTCOMES))
            amount = draw(st.sampled_from([100, 250.5, 0.01, 33.33]))
            later = at + draw(st.sampled_from(_AFTER))
            events.append(Event(t.customer_id, name, later, {"amount": amount}))
    return Population(population.customers, touches, events)


def costs() -> st.SearchStrategy[list[Cost]]:
    """Cost rows on the range's days and either side, each naming a few dimensions."""
    names = st.fixed_dictionaries(
        {},
        optional={
            "utm_source": st.sampled_from(["baidu", "dianping"]),
            "utm_campaign": st.sampled_from(["spring", "summer"]),
            "channel": st.sampled_from(["web", "qrcode"]),
            "activity": st.sampled_from(["screening"]),
            "clinic_id": st.sampled_from(["c1", "c2"]),
        },
    )
    days = st.integers(-1, 10).map(lambda d: START + dt.timedelta(days=d))
    cost = st.builds(Cost, day=days, fen=st.integers(0, 50_000), names=names)
    return st.lists(
        cost, max_size=6, unique_by=lambda c: (c.day, *(c.dimension(d) for d in DIMENSIONS))
    )


@contextmanager
def loaded_with_costs(
    engine: Engine, population: Population, rows: list[Cost]
) -> Iterator[Session]:
    """A session over the inserted population and cost rows, rolled back afterwards."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            insert_population(conn, population)
            if rows:
                conn.execute(insert(CostRow), [_cost_row(c) for c in rows])
            with Session(bind=conn) as session:
                yield session
        finally:
            transaction.rollback()


def _cost_row(cost: Cost) -> dict[str, Any]:
    return {
        "date": cost.day,
        **{d: cost.dimension(d) for d in DIMENSIONS},
        "amount_fen": cost.fen,
        "impressions": None,
        "clicks": None,
        "updated_at": BASE,
        "updated_by": "test",
    }


# -- the definitions ----------------------------------------------------------------


def fen(properties: dict[str, Any]) -> int:
    """A conversion's or refund's ``amount`` (yuan) in fen; 0 unless it is a number."""
    amount = properties.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return 0
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def first_touches(
    population: Population, scope: ReportScope
) -> dict[str, tuple[dt.datetime, dict[str, str]]]:
    """Each customer's first touch (time, fields): the touch marked first, or failing one
    their first activity event (no fields)."""
    found: dict[str, tuple[dt.datetime, dict[str, str]]] = {}
    for customer in population.live(scope):
        marked = [t for t in population.touches if t.customer_id == customer.id and t.first]
        if marked:
            found[customer.id] = (marked[0].at, marked[0].fields)
            continue
        times = [
            e.at
            for e in population.events
            if e.customer_id == customer.id and scope.roles.is_activity(e.name)
        ]
        if times:
            found[customer.id] = (min(times), {})
    return found


def group_of(fields: dict[str, str], by: Sequence[FirstTouchField]) -> tuple[str, ...]:
    """A customer's group: the first touch's value of each field, ``(none)`` without."""
    return tuple(fields.get(f) or NONE for f in by)


def figures(
    population: Population,
    scope: ReportScope,
    by: Sequence[FirstTouchField],
    window: dt.timedelta,
) -> dict[tuple[str, ...], Figures]:
    """Per group: the range's new customers and their outcome within ``window``, and
    every customer of the group active, or sharing, in the range."""
    groups: dict[tuple[str, ...], Figures] = {}
    conversion, refund = scope.roles.names("conversion"), scope.roles.names("refund")
    for cid, (at, fields) in first_touches(population, scope).items():
        mine = [e for e in population.events if e.customer_id == cid]
        in_range = [e for e in mine if scope.since <= e.at < scope.until]
        active = any(scope.roles.is_activity(e.name) for e in in_range)
        sharing = any(e.name in scope.roles.names("share") for e in in_range)
        new = scope.since <= at < scope.until
        if not (new or active or sharing):
            continue
        g = groups.setdefault(group_of(fields, by), Figures())
        g.active += active
        g.sharing += sharing
        if not new:
            continue
        g.new += 1
        within = [e for e in mine if at <= e.at < at + window]
        paid = [e for e in within if e.name in conversion]
        if paid:
            g.converted += 1
            g.conversions += len(paid)
            refunded = [e for e in within if e.name in refund]
            g.revenue += sum(fen(e.properties) for e in paid) - sum(
                fen(e.properties) for e in refunded
            )
    return groups


def cost_of(
    rows: list[Cost], scope: ReportScope, by: Sequence[FirstTouchField]
) -> tuple[dict[tuple[str, ...], int] | None, int]:
    """(fen per group, None when a field grouped by is one costs never name; fen in
    total) of the cost rows on the range's days and the scope's clinics."""
    counted = [
        c
        for c in rows
        if scope.start <= c.day < scope.end
        and (scope.clinics is None or c.dimension("clinic_id") in scope.clinics)
    ]
    total = sum(c.fen for c in counted)
    if any(f not in COST_DIMENSION for f in by):
        return None, total
    groups: dict[tuple[str, ...], int] = {}
    for c in counted:
        key = tuple(c.dimension(COST_DIMENSION[f]) for f in by)
        if all(key):  # the row names every field grouped by
            groups[key] = groups.get(key, 0) + c.fen
    return groups, total


def yuan(amount: int) -> Decimal:
    return Decimal(amount) / 100


def per(amount: int | None, count: int) -> Decimal | None:
    """``amount / count`` in yuan, rounded half up to the fen."""
    if amount is None or not count:
        return None
    return (Decimal(amount) / 100 / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def rate(part: int, whole: int | None) -> float | None:
    return round(part / whole, 4) if whole else None
