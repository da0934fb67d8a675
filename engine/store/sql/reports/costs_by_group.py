"""Cost rows of a range, attributed to groups of first-touch fields.

A cost row names some dimensions (``""``: not named). It counts for a group when it
names every field the report is grouped by and each equals the group's value; the
dimensions it names beyond those do not matter (a report by ``utm_source`` gets every
row of that source, whatever campaign it names). A row that leaves a grouped field
unnamed cannot be split among that field's groups and counts only in the total; so
does every row when a grouped field is one costs never name (``doctor``, ``staff``,
``qrcode``, ``content_id``). Cost dates are local dates: ``start <= date < end``. The
clinic filter reads a row's ``clinic_id``: with one, rows naming no clinic are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from engine.models.reports.groups import GroupKey
from engine.models.reports.scope import FirstTouchField, ReportScope
from engine.store.sql.tables import CostRow

#: The cost column that carries each first-touch field (the clinic as ``clinic_id``).
COST_COLUMNS: dict[str, InstrumentedAttribute[str]] = {
    "channel": CostRow.channel,
    "activity": CostRow.activity,
    "clinic": CostRow.clinic_id,
    "utm_source": CostRow.utm_source,
    "utm_medium": CostRow.utm_medium,
    "utm_campaign": CostRow.utm_campaign,
    "utm_term": CostRow.utm_term,
    "utm_content": CostRow.utm_content,
}


@dataclass(frozen=True)
class CostSplit:
    """Fen per group (None: the grouping cannot carry costs) and in total."""

    groups: dict[GroupKey, int] | None
    total: int


def _in_scope(scope: ReportScope) -> list[ColumnElement[bool]]:
    """The cost rows of the scope's local days and clinics."""
    if scope.clinics is None:
        clinics: ColumnElement[bool] = true()
    elif not scope.clinics:
        clinics = false()
    else:
        clinics = CostRow.clinic_id.in_(list(scope.clinics))
    return [CostRow.date >= scope.start, CostRow.date < scope.end, clinics]


def costs_by_group(s: Session, scope: ReportScope, by: Sequence[FirstTouchField]) -> CostSplit:
    """The scope's cost in fen, in total and per group of ``by`` (rule: module doc)."""
    where = _in_scope(scope)
    total = int(s.scalar(select(func.sum(CostRow.amount_fen)).where(*where)) or 0)
    if any(field not in COST_COLUMNS for field in by):
        return CostSplit(groups=None, total=total)
    columns = [COST_COLUMNS[field] for field in by]
    named = [column != "" for column in columns]
    rows = s.execute(
        select(*columns, func.sum(CostRow.amount_fen)).where(*where, *named).group_by(*columns)
    ).all()
    # Without grouped fields the sum comes back as one row, NULL when no row matched.
    groups = {tuple(str(v) for v in row[:-1]): int(row[-1]) for row in rows if row[-1] is not None}
    return CostSplit(groups=groups, total=total)
