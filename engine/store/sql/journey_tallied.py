"""A journey's trace figures for whole entry days, summed from ``journey_tallies``, or
from ``journey_clinic_tallies`` for some clinics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from engine.store.sql.journey_figures import Figures
from engine.store.sql.tables import ClinicTallyRow, TallyRow


def add_tallied(
    s: Session,
    journey_id: str,
    version: int | None,
    days: tuple[datetime | None, datetime | None],
    figures: Figures,
    clinics: tuple[str, ...] | None = None,
) -> None:
    """Add the figures of the enrollments that entered in ``days`` (whole UTC days, the
    end excluded; None: unbounded), of customers of ``clinics`` if given, to ``figures``."""
    since, until = days
    row: type[TallyRow] | type[ClinicTallyRow] = TallyRow if clinics is None else ClinicTallyRow
    where: list[ColumnElement[bool]] = [row.journey_id == journey_id]
    if version is not None:
        where.append(row.version == version)
    if clinics is not None:
        where.append(ClinicTallyRow.clinic.in_(clinics))
    if since is not None:
        where.append(row.day >= since)
    if until is not None:
        where.append(row.day < until)
    total = func.sum(row.n)
    keys = (row.step, row.measure, row.channel, row.outcome, row.reason)
    stmt = (
        select(*keys, total, func.max(row.last_at)).where(*where).group_by(*keys).having(total != 0)
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
