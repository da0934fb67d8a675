"""Funnels in one statement: the step chain of :mod:`.funnel_steps`, then per step (and
per group) the customers who reached it and the median time from the previous step.

The median is exact on both databases without a percentile function: the customers'
differences (integer microseconds) are ranked with ``ROW_NUMBER`` within their step
and group, and the middle one or two (ranks ``(n + 1) / 2`` and ``(n + 2) / 2``) are
summed in SQL; Python divides the sum by their number. Only these figures leave the
database, one row per step and group.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session

from engine.models.reports.funnel import (
    FunnelGroup,
    FunnelReport,
    FunnelRequest,
    FunnelStepFigures,
)
from engine.models.reports.scope import NONE, ReportScope
from engine.store.sql.reports.funnel_steps import step_chain
from engine.store.sql.reports.query import epoch_us, instant_us

#: Per (all entrants or a group's value): per step, (customers, middle sum, middle count).
Figures = dict[int, tuple[int, int, int]]


def funnel_report(
    s: Session, scope: ReportScope, request: FunnelRequest, *, now: dt.datetime | None = None
) -> FunnelReport:
    """The customers reaching each step of the funnel in the scope; ``provisional``
    while an entrant's window is open at ``now`` (default: the clock)."""
    dialect = s.get_bind().dialect.name
    chain = step_chain(scope, request, dialect)
    split = request.by is not None
    totals: Figures = {}
    groups: dict[str, Figures] = {}
    latest: int | None = None
    for total, g, step, customers, middle, middles, entry in s.execute(
        _figures(chain, split, dialect)
    ):
        figures = (int(customers), int(middle or 0), int(middles or 0))
        if total:
            totals[int(step)] = figures
            if int(step) == 1:
                latest = int(entry)
        else:
            groups.setdefault(str(g), {})[int(step)] = figures
    events = [step.event for step in request.steps]
    closes = None if latest is None else latest + request.window // dt.timedelta(microseconds=1)
    moment = now or dt.datetime.now(dt.UTC)
    return FunnelReport(
        by=request.by,
        steps=step_figures(events, totals),
        groups=(
            [FunnelGroup(value=v, steps=step_figures(events, groups[v])) for v in ordered(groups)]
            if split
            else None
        ),
        provisional=closes is not None and closes > instant_us(moment),
    )


def _figures(chain: Sequence[CTE], split: bool, dialect: str) -> Select[Any]:
    """``(total, g, step, customers, middle_sum, middle_count, latest_entry_us)`` per
    step, for all entrants (total = 1) and, with a split, per group (total = 0)."""
    parts = [
        select(
            literal(1, Integer).label("step"),
            chain[0].c.g,
            cast(null(), BigInteger).label("d"),
            chain[0].c.entry_us,
        )
    ]
    for k, reached in enumerate(chain[1:], start=2):
        gap = epoch_us(reached.c.at, dialect) - epoch_us(reached.c.prev_at, dialect)
        parts.append(
            select(literal(k, Integer), reached.c.g, gap, cast(null(), BigInteger)),
        )
    rows = union_all(*parts).subquery("reached")
    # Every row once for all entrants and, with a split, once more for its group: a
    # join with one or two constant rows, so the steps are referred to once.
    copies = [select(literal(1, Integer).label("total"))]
    if split:
        copies.append(select(literal(0, Integer)))
    copy = union_all(*copies).subquery("copy")
    both = (
        select(
            copy.c.total,
            case(
                (copy.c.total == 1, cast(null(), String)), else_=func.coalesce(rows.c.g, NONE)
            ).label("g"),
            rows.c.step,
            rows.c.d,
            rows.c.entry_us,
        )
        .select_from(rows)
        .join(copy, true())
        .subquery("labelled")
    )
    partition = (both.c.total, both.c.g, both.c.step)
    ranked = select(
        *both.c,
        func.row_number().over(partition_by=partition, order_by=both.c.d).label("rn"),
        func.count().over(partition_by=partition).label("n"),
    ).subquery("ranked")
    middle = and_(
        ranked.c.d.is_not(None),
        or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2),
    )
    return select(
        ranked.c.total,
        ranked.c.g,
        ranked.c.step,
        func.count(),
        func.sum(case((middle, ranked.c.d), else_=0)),
        func.sum(case((middle, 1), else_=0)),
        func.max(ranked.c.entry_us),
    ).group_by(ranked.c.total, ranked.c.g, ranked.c.step)


def step_figures(events: Sequence[str], figures: Figures) -> list[FunnelStepFigures]:
    """The figures of each step from its (customers, middle sum, middle count); a step
    nobody reached has none."""
    out: list[FunnelStepFigures] = []
    first = figures.get(1, (0, 0, 0))[0]
    previous = 0
    for k, event in enumerate(events, start=1):
        customers, middle, middles = figures.get(k, (0, 0, 0))
        out.append(
            FunnelStepFigures(
                event=event,
                customers=customers,
                from_previous=ratio(customers, previous) if k > 1 else None,
                from_first=ratio(customers, first),
                median_seconds_from_previous=(
                    middle / (middles * 1_000_000) if k > 1 and middles else None
                ),
            )
        )
        previous = customers
    return out


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` to four decimals; None when ``whole`` is 0."""
    return round(part / whole, 4) if whole else None


def ordered(groups: dict[str, Figures]) -> list[str]:
    """Group values, most entrants first, ties by value (code point order)."""
    return sorted(groups, key=lambda v: (-groups[v].get(1, (0, 0, 0))[0], v))
