"""Hand-written SQL for the questions the reports answer: active customers, acquisition
and the seed KPIs (funnel, doctors, clinics, channels and journey metrics are in the
other ``bench/report_yard_*`` modules).

Each yardstick is what an analyst would write from the contract
(``/work/shared/reports.md`` section 2) for the benchmark's question, per dialect, and
returns the same figures as the report in a plain form (:mod:`bench.report_compare`
reads the report's model into that form). Where there are several natural ways to
write a query, each is a variant and the benchmark keeps the fastest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, text

from bench.report_sql import Sql, quoted
from engine.models.reports.scope import NONE, FirstTouchField, ReportScope

__all__ = [
    "COST_COLUMNS",
    "Yardstick",
    "acquisition",
    "active",
    "costs",
    "costs_total",
    "first_touch_sql",
    "kpis",
    "outcome_sql",
]

#: A yardstick: (connection, scope) -> the figures in plain form.
Yardstick = Callable[[Connection, ReportScope], Any]

_COLUMNS = {"channel": "channel", "activity": "activity", "doctor": "doctor", "clinic": "clinic"}


def _valued(expression: str) -> str:
    """A group's value: ``(none)`` for NULL or empty text."""
    return f"coalesce(nullif({expression}, ''), '{NONE}')"


def _field(sql: Sql, field: FirstTouchField, alias: str = "t") -> str:
    if field == "qrcode":
        return f"{alias}.code_id"
    if field in _COLUMNS:
        return f"{alias}.{_COLUMNS[field]}"
    return sql.prop(f"{alias}.fields", field)


# -- active -------------------------------------------------------------------------

_PAIRS = """pairs AS (
  SELECT DISTINCT customer_id AS c, {day} AS d FROM events
  WHERE at >= :look AND at < :until AND {activity} AND {clinic})"""
_DAYS = {
    "sqlite": "days(day) AS (SELECT :first UNION ALL "
    "SELECT day + 1 FROM days WHERE day + 1 < :last)",
    "postgresql": "days AS (SELECT generate_series(:first, :last - 1) AS day)",
}
_ACTIVE_LAST_DAY = """WITH RECURSIVE {days}, {pairs},
marks AS (SELECT c, d, lead(d) OVER (PARTITION BY c ORDER BY d) AS n FROM pairs)
SELECT day, sum(CASE WHEN d = day THEN 1 ELSE 0 END), sum(CASE WHEN d > day - 7 THEN 1 ELSE 0 END),
       count(*)
FROM days JOIN marks ON d <= day AND d > day - 30 AND (n IS NULL OR n > day) GROUP BY day"""


def _active(variant: str) -> Yardstick:
    def run(conn: Connection, scope: ReportScope) -> list[tuple[dt.date, int, int, int]]:
        """DAU, WAU, MAU per local day: customers with an activity event on the day, in
        the 7 and the 30 days ending with it."""
        sql = Sql(conn.dialect.name)
        pairs = _PAIRS.format(
            day=sql.day("at", scope),
            activity=sql.activity("name", scope),
            clinic=sql.clinic("customer_id", scope),
        )
        query = variant.format(days=_DAYS[sql.dialect], pairs=pairs)
        epoch = dt.date(1970, 1, 1)
        params = {
            "look": sql.stamp(scope.instant(scope.start - dt.timedelta(days=29))),
            "until": sql.stamp(scope.until),
            "first": (scope.start - epoch).days,
            "last": (scope.end - epoch).days,
        }
        found = {
            int(d): (int(a), int(w), int(m)) for d, a, w, m in conn.execute(text(query), params)
        }
        return [(day, *found.get((day - epoch).days, (0, 0, 0))) for day in scope.days()]

    return run


#: A customer counts on day D (for WAU, MAU) by their last active day on or before D.
#: (A range join of days and active days counting distinct customers was tried too: 3
#: times slower on SQLite, over 10 minutes on PostgreSQL.)
active: dict[str, Yardstick] = {"last_day": _active(_ACTIVE_LAST_DAY)}


# -- first touches, cohorts ---------------------------------------------------------


def first_touch_sql(sql: Sql, scope: ReportScope, field: str | None, ranged: bool) -> str:
    """``first(customer_id, at, g)``: the touch marked first, else the first activity
    event (g NULL) of the customers without one; ``ranged``: only those in the scope's
    range."""
    group = field or "NULL"
    touch_range = "AND t.at >= :since AND t.at < :until" if ranged else ""
    having = "HAVING min(e.at) >= :since AND min(e.at) < :until" if ranged else ""
    return f"""first AS (
  SELECT t.customer_id, t.at, {group} AS g FROM touches t
  WHERE t.first = {sql.true()} {touch_range} AND {sql.clinic("t.customer_id", scope)}
  UNION ALL
  SELECT e.customer_id, min(e.at), NULL FROM events e
  WHERE e.customer_id IN (
      SELECT k.id FROM customers k WHERE {sql.clinic("k.id", scope)} AND NOT EXISTS (
        SELECT 1 FROM touches f WHERE f.customer_id = k.id AND f.first = {sql.true()}))
    AND {sql.activity("e.name", scope)}
  GROUP BY e.customer_id {having})"""


def outcome_sql(sql: Sql, scope: ReportScope, window: dt.timedelta) -> str:
    """``outcome(customer_id, n, fen)``: conversions and revenue of the cohort within
    the window after the first touch (refunds in the window subtracted)."""
    conversion = quoted(scope.roles.names("conversion"))
    refund = quoted(scope.roles.names("refund"))
    is_conversion = f"e.name IN ({conversion})"
    fen = sql.fen("e.properties")
    return f"""outcome AS (
  SELECT c.customer_id, sum(CASE WHEN {is_conversion} THEN 1 ELSE 0 END) AS n,
         sum(CASE WHEN {is_conversion} THEN {fen} ELSE -{fen} END) AS fen
  FROM first c JOIN events e ON e.customer_id = c.customer_id
   AND e.name IN ({conversion}, {refund}) AND e.at >= c.at
   AND e.at < {sql.plus("c.at", int(window.total_seconds()))}
  GROUP BY c.customer_id HAVING sum(CASE WHEN {is_conversion} THEN 1 ELSE 0 END) > 0)"""


def _cohort(
    conn: Connection, scope: ReportScope, by: FirstTouchField, window: dt.timedelta
) -> dict[str, list[int]]:
    """Per group: [new customers, converted, conversion events, revenue in fen]."""
    sql = Sql(conn.dialect.name)
    query = f"""WITH {first_touch_sql(sql, scope, _field(sql, by), ranged=True)},
{outcome_sql(sql, scope, window)}
SELECT {_valued("c.g")}, count(*), count(o.customer_id), coalesce(sum(o.n), 0),
       coalesce(sum(o.fen), 0)
FROM first c LEFT JOIN outcome o ON o.customer_id = c.customer_id GROUP BY {_valued("c.g")}"""
    params = {"since": sql.stamp(scope.since), "until": sql.stamp(scope.until)}
    rows = conn.execute(text(query), params)
    return {str(g): [int(v) for v in rest] for g, *rest in rows}


#: The cost column of each first-touch field that cost rows name.
COST_COLUMNS = {
    "channel": "channel",
    "activity": "activity",
    "clinic": "clinic_id",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
}


def _cost_rows(scope: ReportScope) -> str:
    clinic = "1 = 1"
    if scope.clinics is not None:
        clinic = f"clinic_id IN ({quoted(list(scope.clinics))})" if scope.clinics else "1 = 0"
    return f"FROM costs WHERE date >= :start AND date < :end AND {clinic}"


def costs(conn: Connection, scope: ReportScope, by: FirstTouchField) -> dict[str, int]:
    """Cost in fen per value of ``by``: the range's rows that name it."""
    column = COST_COLUMNS.get(by)
    if column is None:
        return {}
    query = (
        f"SELECT {column}, sum(amount_fen) {_cost_rows(scope)} AND {column} <> '' GROUP BY {column}"
    )
    rows = conn.execute(text(query), {"start": scope.start, "end": scope.end})
    return {str(g): int(fen) for g, fen in rows}


def costs_total(conn: Connection, scope: ReportScope) -> int:
    """Every cost row of the range, in fen."""
    query = f"SELECT sum(amount_fen) {_cost_rows(scope)}"
    return int(conn.execute(text(query), {"start": scope.start, "end": scope.end}).scalar() or 0)


def acquisition(by: FirstTouchField, window: dt.timedelta) -> Yardstick:
    """New customers of the range by ``by``, converted within ``window``, revenue, cost."""

    def run(conn: Connection, scope: ReportScope) -> dict[str, Any]:
        return {"groups": _cohort(conn, scope, by, window), "costs": costs(conn, scope, by)}

    return run


def kpis(by: FirstTouchField, window: dt.timedelta) -> Yardstick:
    """The cohort per group as for acquisition, plus each group's active customers and
    those of them who shared (spread rate), the group being the customer's first touch."""

    def run(conn: Connection, scope: ReportScope) -> dict[str, Any]:
        sql = Sql(conn.dialect.name)
        share = quoted(scope.roles.names("share"))
        query = f"""WITH active AS (
  SELECT customer_id, max(CASE WHEN name IN ({share}) THEN 1 ELSE 0 END) AS shared
  FROM events WHERE at >= :since AND at < :until AND {sql.activity("name", scope)}
    AND {sql.clinic("customer_id", scope)}
  GROUP BY customer_id)
SELECT {_valued(_field(sql, by))}, count(*), sum(a.shared) FROM active a
LEFT JOIN touches t ON t.customer_id = a.customer_id AND t.first = {sql.true()}
GROUP BY {_valued(_field(sql, by))}"""
        params = {"since": sql.stamp(scope.since), "until": sql.stamp(scope.until)}
        spread = {str(g): (int(n), int(s)) for g, n, s in conn.execute(text(query), params)}
        return {
            "groups": _cohort(conn, scope, by, window),
            "costs": costs(conn, scope, by),
            "total_cost": costs_total(conn, scope),
            "spread": spread,
        }

    return run
