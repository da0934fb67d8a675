"""Hand-written SQL for the questions about what journeys sent: a journey's metrics
(contract section 2, "Journey metrics") and the channels report (section 3).

Both read the enrollments' trace: one ``attempt`` entry per try of a channel, the
``receipt`` entry right after it when the step waited for one, a ``send`` entry at each
visit of a send step. Which skip detail means which reason, and which outcomes are
failures, is the store's table (``engine.store.sql.sends``): data, not a query.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text

from bench.report_sql import Sql
from engine.store.sql.sends import FAILED, NOT_TRIED, OTHER, QUIET_HOURS, SKIP_REASONS

__all__ = ["fallback_sql", "journey_counts", "payload", "reason_sql"]


def payload(sql: Sql, alias: str, field: str) -> str:
    """A field of a trace entry's payload as text."""
    return sql.prop(f"{alias}.payload", field)


def reason_sql(outcome: str, detail: str) -> str:
    """The reason of a skipped or deferred attempt."""
    whens = " ".join(f"WHEN lower({detail}) LIKE '{p}' THEN '{name}'" for p, name in SKIP_REASONS)
    return (
        f"CASE WHEN {outcome} = 'deferred' THEN '{QUIET_HOURS}' "
        f"ELSE CASE {whens} ELSE '{OTHER}' END END"
    )


def fallback_sql(sql: Sql, t: str) -> str:
    """Entry ``t`` follows an attempt on another channel in the same visit of its step."""
    return f"""EXISTS (SELECT 1 FROM trace fa WHERE fa.enrollment_id = {t}.enrollment_id
  AND fa.step = {t}.step AND fa.kind = 'attempt' AND fa.seq < {t}.seq
  AND {payload(sql, "fa", "channel")} <> {payload(sql, t, "channel")}
  AND NOT EXISTS (SELECT 1 FROM trace fv WHERE fv.enrollment_id = fa.enrollment_id
    AND fv.step = fa.step AND fv.kind = 'send' AND fv.seq > fa.seq AND fv.seq < {t}.seq))"""


def _queries(sql: Sql) -> dict[str, str]:
    cohort = "JOIN enrollments e ON e.id = t.enrollment_id WHERE e.journey_id = :journey"
    channel, outcome = payload(sql, "t", "channel"), payload(sql, "t", "outcome")
    reason = reason_sql(outcome, payload(sql, "t", "detail"))
    return {
        "statuses": "SELECT status, exit_reason, count(*) FROM enrollments "
        "WHERE journey_id = :journey GROUP BY status, exit_reason",
        "reached": f"SELECT t.step, count(DISTINCT t.enrollment_id) FROM trace t {cohort} "
        "AND t.step IS NOT NULL GROUP BY t.step",
        "sends": f"SELECT t.step, t.kind, {channel}, {outcome}, {reason}, count(*) "
        f"FROM trace t {cohort} AND t.kind IN ('attempt', 'receipt') AND t.step IS NOT NULL "
        f"GROUP BY t.step, t.kind, {channel}, {outcome}, {reason}",
        "fallbacks": f"SELECT t.step, count(*) FROM trace t {cohort} "
        f"AND t.kind IN ('attempt', 'receipt') AND {outcome} = 'delivered' "
        f"AND {fallback_sql(sql, 't')} GROUP BY t.step",
        "handoffs": """SELECT k.step, k.status, k.outcome, count(*),
  sum(CASE WHEN k.status IN ('open', 'claimed', 'escalated') AND k.due_at < :now THEN 1 ELSE 0 END),
  sum(CASE WHEN k.status = 'escalated' OR k.escalated_to IS NOT NULL THEN 1 ELSE 0 END)
FROM handoff_tasks k JOIN enrollments e ON e.id = k.enrollment_id
WHERE k.journey_id = :journey AND e.journey_id = :journey
GROUP BY k.step, k.status, k.outcome""",
        "arms": f"""WITH drawn AS (
  SELECT t.enrollment_id, t.step, min(t.seq) AS seq FROM trace t {cohort} AND t.kind = 'split'
  GROUP BY t.enrollment_id, t.step)
SELECT t.step, {payload(sql, "t", "variant")}, count(*),
  sum(CASE WHEN e.status = 'converted' THEN 1 ELSE 0 END),
  sum(CASE WHEN e.status = 'running' THEN 1 ELSE 0 END), max(e.started_at)
FROM drawn d JOIN trace t ON t.enrollment_id = d.enrollment_id AND t.step = d.step
  AND t.seq = d.seq
JOIN enrollments e ON e.id = d.enrollment_id
GROUP BY t.step, {payload(sql, "t", "variant")}""",
        "running": "SELECT id FROM enrollments WHERE journey_id = :journey AND id IN :ids",
    }


def _step(steps: dict[str, Any], name: str | None) -> dict[str, Any]:
    found: dict[str, Any] = steps.setdefault(
        name or "",
        {
            "reached": 0,
            "waiting_now": 0,
            "sends": {},
            "fallbacks": 0,
            "handoffs": {"created": 0, "done": {}, "overdue_now": 0, "escalated": 0},
        },
    )
    return found


def _add_sends(steps: dict[str, Any], rows: Any) -> None:
    for step, kind, channel, outcome, why, n in rows:
        sends = _step(steps, step)["sends"].setdefault(
            channel or "", {"attempted": 0, "delivered": 0, "failed": 0, "skipped": {}}
        )
        if kind == "attempt" and outcome in NOT_TRIED:
            sends["skipped"][why] = sends["skipped"].get(why, 0) + n
            continue
        sends["attempted"] += n if kind == "attempt" else 0
        if outcome == "delivered":
            sends["delivered"] += n
        elif outcome in FAILED:
            sends["failed"] += n


def journey_counts(
    conn: Connection, journey: str, now: datetime, running_at: Mapping[str, str]
) -> dict[str, Any]:
    """A whole journey's counts in the shape of ``JourneyCounts.model_dump()``."""
    sql = Sql(conn.dialect.name)
    q = _queries(sql)
    params = {"journey": journey, "now": sql.stamp(now)}
    steps: dict[str, Any] = {}
    statuses = [
        {"status": s, "reason": r, "count": n}
        for s, r, n in conn.execute(text(q["statuses"]), params)
    ]
    for step, n in conn.execute(text(q["reached"]), params):
        _step(steps, step)["reached"] = n
    _add_sends(steps, conn.execute(text(q["sends"]), params))
    for step, n in conn.execute(text(q["fallbacks"]), params):
        _step(steps, step)["fallbacks"] = n
    for step, status, outcome, n, late, up in conn.execute(text(q["handoffs"]), params):
        tasks = _step(steps, step)["handoffs"]
        tasks["created"] += n
        tasks["overdue_now"] += int(late or 0)
        tasks["escalated"] += int(up or 0)
        if status == "done":
            tasks["done"][outcome or "(none)"] = tasks["done"].get(outcome or "(none)", 0) + n
    arms: dict[str, list[dict[str, Any]]] = {}
    for step, variant, n, converted, running, last in conn.execute(text(q["arms"]), params):
        arms.setdefault(step or "", []).append(
            {
                "variant": variant or "",
                "entered": n,
                "converted": int(converted),
                "running": int(running),
                "last_entry": last,
            }
        )
    if running_at:
        query = text(q["running"]).bindparams(bindparam("ids", expanding=True))
        for (enrollment_id,) in conn.execute(query, {**params, "ids": list(running_at)}):
            _step(steps, running_at[enrollment_id])["waiting_now"] += 1
    return {"statuses": statuses, "steps": steps, "arms": arms}
