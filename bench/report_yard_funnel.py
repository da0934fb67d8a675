"""Hand-written SQL for a funnel: the benchmark's is the seed example (contract section
2, "Funnels"): ``content.viewed`` -> ``page.viewed {page: mall}`` ->
``appointment.booked`` -> ``appointment.paid``, window 60 days, by the entry event's
``content_id``.

One CTE per step, each the earliest matching event strictly after the previous step's
and before entry + W; then per group and in total the customers at each step and the
median seconds from the previous step (PostgreSQL: ``percentile_cont``; SQLite, which
has none: the middle one or two of the ranked differences).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from bench.report_sql import Sql
from engine.models.reports.scope import NONE, ReportScope

__all__ = ["SEED_STEPS", "TOTAL", "funnel"]

#: (event, property, value) of each step of the seed example; property None: any.
SEED_STEPS: tuple[tuple[str, str | None, str | None], ...] = (
    ("content.viewed", None, None),
    ("page.viewed", "page", "mall"),
    ("appointment.booked", None, None),
    ("appointment.paid", None, None),
)
#: The group of every entrant in the yardstick's answer.
TOTAL = "*"


def _steps_sql(
    sql: Sql, scope: ReportScope, steps: Sequence[tuple[str, str | None, str | None]], w: int
) -> str:
    """``s1 .. sn`` and ``flat(g, a1 .. an)``: each entrant's group and step times."""

    def match(alias: str, step: tuple[str, str | None, str | None]) -> str:
        name, key, value = step
        where = f"{alias}.name = '{name}'"
        if key is not None:
            where += f" AND {sql.prop(f'{alias}.properties', key)} = '{value}'"
        return where

    least = 'COLLATE "C"' if sql.pg else ""
    parts = [
        f"""e1 AS (SELECT x.customer_id, min(x.at) AS at FROM events x
  WHERE {match("x", steps[0])} AND x.at >= :since AND x.at < :until
    AND {sql.clinic("x.customer_id", scope)} GROUP BY x.customer_id)""",
        f"""s1 AS (SELECT e1.customer_id, e1.at, (
  SELECT min({sql.prop("x.properties", "content_id")} {least}) FROM events x
  WHERE x.customer_id = e1.customer_id AND {match("x", steps[0])} AND x.at = e1.at) AS g
  FROM e1)""",
    ]
    for k in range(2, len(steps) + 1):
        parts.append(
            f"""s{k} AS (SELECT p.customer_id, min(x.at) AS at FROM s{k - 1} p
  JOIN s1 ON s1.customer_id = p.customer_id
  JOIN events x ON x.customer_id = p.customer_id AND {match("x", steps[k - 1])}
   AND x.at > p.at AND x.at < {sql.plus("s1.at", w)}
  GROUP BY p.customer_id)"""
        )
    times = ", ".join(f"s{k}.at AS a{k}" for k in range(1, len(steps) + 1))
    joins = " ".join(
        f"LEFT JOIN s{k} ON s{k}.customer_id = s1.customer_id" for k in range(2, len(steps) + 1)
    )
    parts.append(f"flat AS (SELECT coalesce(s1.g, '{NONE}') AS g, {times} FROM s1 {joins})")
    return ",\n".join(parts)


def _figures_pg(sql: Sql, n: int) -> str:
    counts = ", ".join(f"count(a{k})" for k in range(1, n + 1))
    medians = ", ".join(
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {sql.between(f'a{k - 1}', f'a{k}')})"
        for k in range(2, n + 1)
    )
    return f"""SELECT coalesce(g, '{TOTAL}') AS g, {counts}, {medians}
FROM flat GROUP BY GROUPING SETS ((g), ())"""


def _figures_sqlite(sql: Sql, n: int) -> str:
    gaps = " UNION ALL ".join(
        f"SELECT g, {k} AS step, {sql.between(f'a{k - 1}', f'a{k}')} AS d FROM flat "
        f"WHERE a{k} IS NOT NULL"
        for k in range(2, n + 1)
    )
    return f"""gaps AS (SELECT g, 1 AS step, NULL AS d FROM flat UNION ALL {gaps}),
both_ AS (SELECT g, step, d FROM gaps UNION ALL SELECT '{TOTAL}', step, d FROM gaps),
ranked AS (SELECT g, step, d, row_number() OVER (PARTITION BY g, step ORDER BY d) AS rn,
           count(*) OVER (PARTITION BY g, step) AS n FROM both_)
SELECT g, step, count(*), avg(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN d END)
FROM ranked GROUP BY g, step"""


def funnel(window: dt.timedelta = dt.timedelta(days=60)) -> Any:
    """The seed funnel: per group (and :data:`TOTAL`) a list per step of (customers,
    median seconds from the previous step or None)."""

    def run(conn: Connection, scope: ReportScope) -> dict[str, list[tuple[int, float | None]]]:
        sql = Sql(conn.dialect.name)
        steps = SEED_STEPS
        n = len(steps)
        chain = _steps_sql(sql, scope, steps, int(window.total_seconds()))
        params = {"since": sql.stamp(scope.since), "until": sql.stamp(scope.until)}
        found: dict[str, list[tuple[int, float | None]]] = {}
        if sql.pg:
            for g, *row in conn.execute(text(f"WITH {chain}\n{_figures_pg(sql, n)}"), params):
                counts, medians = row[:n], [None, *row[n:]]
                found[str(g)] = [
                    (int(c), None if m is None or not c else float(m))
                    for c, m in zip(counts, medians, strict=True)
                ]
            return found
        query = f"WITH {chain},\n{_figures_sqlite(sql, n)}"
        for g, step, count, median in conn.execute(text(query), params):
            figures = found.setdefault(str(g), [(0, None)] * n)
            figures[int(step) - 1] = (int(count), None if median is None else float(median))
        return found

    return run
