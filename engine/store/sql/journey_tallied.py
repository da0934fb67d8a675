"""A journey's trace figures for whole entry days, summed from ``journey_tallies``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.store.sql.journey_figures import Figures
from engine.store.sql.tables import TallyRow


def add_tallied(
    s: Session,
    journey_id: str,
    version: int | None,
    days: tuple[datetime | None, datetime | None],
    figures: Figures,
) -> None:
    """Add the figures of the enrollments that entered in ``days`` (whole UTC days, the
    end excluded; None: unbounded) to ``figures``."""
    since, until = days
    where: list[ColumnElement[bool]] = [TallyRow.journey_id == journey_id]
    if version is not None:
        where.append(TallyRow.version == version)
    if since is not None:
        where.append(TallyRow.day >= since)
    if until is not None:
        where.append(TallyRow.day < until)
    total = func.sum(TallyRow.n)
    keys = (TallyRow.step, TallyRow.measure, TallyRow.channel, TallyRow.outcome, TallyRow.reason)
    stmt = (
        select(*keys, total, func.max(TallyRow.last_at))
        .where(*where)
        .group_by(*keys)
        .having(total != 0)
    )
    for step, measure, channel, outcome, reason, n, last in s.execute(stmt):
        if measure == "reached":
            figures.at(step).reached += n
        elif measure == "fallback":
            figures.at(step).fallbacks += n
        elif measure == "arm":
            converted = n if outcome == "converted" else 0
            running = n if outcome == "running" else 0
            figures.arm(step, channel, n, converted, running, last)
        else:
            figures.send(step, measure, channel, outcome, reason, n)
