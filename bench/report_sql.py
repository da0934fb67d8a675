"""The SQL pieces the report yardsticks are written with, per dialect, as an analyst
writes them by hand: JSON properties, instants plus a duration, local days, amounts in
fen, the activity filter and the clinic filter.

Nothing here comes from ``engine.store.sql.reports``: the yardsticks answer the same
questions straight from the contract (``/work/shared/reports.md`` section 2), so that
the benchmark compares the reports with SQL written without them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from engine.models.reports.scope import ReportScope

__all__ = ["Sql", "quoted"]


def quoted(names: tuple[str, ...] | list[str]) -> str:
    """``'a', 'b'`` for an IN list (``NULL`` for none, which matches nothing)."""
    if not names:
        return "NULL"
    return ", ".join("'" + name.replace("'", "''") + "'" for name in names)


@dataclass(frozen=True)
class Sql:
    """SQL text for one dialect (``sqlite`` or ``postgresql``)."""

    dialect: str

    @property
    def pg(self) -> bool:
        return self.dialect == "postgresql"

    def stamp(self, at: dt.datetime) -> Any:
        """An instant as a bind parameter (SQLite stores fixed-width UTC text)."""
        if self.pg:
            return at
        return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def prop(self, doc: str, key: str) -> str:
        """A JSON property as text."""
        if self.pg:
            return f"({doc}->>'{key}')"
        return f"CAST(json_extract({doc}, '$.{key}') AS TEXT)"

    def fen(self, doc: str) -> str:
        """The ``amount`` property in fen when it is a JSON number, else 0."""
        if self.pg:
            return (
                f"(CASE WHEN jsonb_typeof({doc}->'amount') = 'number' "
                f"THEN round(({doc}->>'amount')::numeric * 100)::bigint ELSE 0 END)"
            )
        return (
            f"(CASE WHEN json_type({doc}, '$.amount') IN ('integer', 'real') "
            f"THEN CAST(round(json_extract({doc}, '$.amount') * 100) AS INTEGER) ELSE 0 END)"
        )

    def plus(self, at: str, seconds: int) -> str:
        """An instant plus whole seconds (exact: SQLite keeps the text's fraction)."""
        if self.pg:
            return f"({at} + interval '{seconds} seconds')"
        return f"(datetime({at}, '+{seconds} seconds') || substr({at}, 20))"

    def seconds(self, at: str) -> str:
        """Whole seconds since 1970 of an instant (SQLite: the text without its fraction,
        which ``strftime`` would round to milliseconds)."""
        if self.pg:
            return f"floor(extract(epoch FROM {at}))::bigint"
        return f"CAST(strftime('%s', substr({at}, 1, 19)) AS INTEGER)"

    def between(self, start: str, end: str) -> str:
        """Seconds from one instant to another, with the fraction."""
        if self.pg:
            return f"extract(epoch FROM ({end}) - ({start}))::float"
        return (
            f"({self.seconds(end)} - {self.seconds(start)} "
            f"+ (CAST(substr({end}, 21, 6) AS INTEGER) - CAST(substr({start}, 21, 6) AS INTEGER))"
            " / 1000000.0)"
        )

    def day(self, at: str, scope: ReportScope) -> str:
        """The local day of an instant, as days since 1970-01-01. SQLite: the zone's
        offset at the start of the range (the yardsticks' zone has no transitions)."""
        if self.pg:
            return f"(({at} AT TIME ZONE '{scope.timezone}')::date - DATE '1970-01-01')"
        offset = scope.since.astimezone(scope.zone).utcoffset() or dt.timedelta()
        return f"(({self.seconds(at)} + {int(offset.total_seconds())}) / 86400)"

    def activity(self, name: str, scope: ReportScope) -> str:
        """The event is customer activity (not carepath's own nor excluded)."""
        parts = []
        for pattern in scope.roles.activity_exclude:
            if pattern.endswith(".*"):
                parts.append(f"{name} NOT LIKE '{pattern[:-1]}%'")
            else:
                parts.append(f"{name} <> '{pattern}'")
        return " AND ".join(parts) or "1 = 1"

    def clinic(self, customer_id: str, scope: ReportScope) -> str:
        """The customer is one of the scope's clinics (``1 = 1`` for every clinic)."""
        if scope.clinics is None:
            return "1 = 1"
        if not scope.clinics:
            return "1 = 0"
        of = self.prop("k.attributes", "clinic_id")
        return (
            f"{customer_id} IN (SELECT k.id FROM customers k "
            f"WHERE {of} IN ({quoted(list(scope.clinics))}))"
        )

    def true(self) -> str:
        return "true" if self.pg else "1"
