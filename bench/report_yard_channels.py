"""Hand-written SQL for the channels report (contract section 3, ``/v1/reports/channels``).

A try is an ``attempt`` entry of the trace in the range, settled by the entry right
after it (of the enrollment's attempts and receipts) when that is the receipt of the
same step and channel; a delivery in the range whose attempt is not in the trace yet
(a running enrollment writes its trace later) is a try of its own. Skips are counted
by reason; a fallback is a delivery after another channel's attempt in the same visit
of the step; receipt latency is from the try to its answering receipt, p50 and p90 by
nearest rank; opt-outs are customers withdrawing consent on the channel in the range.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from bench.report_sql import Sql, quoted
from bench.report_yard_sends import fallback_sql, payload, reason_sql
from engine.models.reports.scope import NONE, ReportScope
from engine.store.sql.sends import FAILED, NOT_TRIED

__all__ = ["channels"]


def _tries_sql(sql: Sql, scope: ReportScope) -> str:
    """``tries(channel, outcome, reason, latency, fallback)``."""
    ch, oc = payload(sql, "a", "channel"), payload(sql, "a", "outcome")
    rch, roc = payload(sql, "r", "channel"), payload(sql, "r", "outcome")
    settles = f"(r.kind = 'receipt' AND r.step = a.step AND {rch} = {ch})"
    settled = f"CASE WHEN {settles} THEN {roc} ELSE {oc} END"
    not_tried = quoted(list(NOT_TRIED))
    dch = "d.channel"
    pending_fallback = f"""EXISTS (SELECT 1 FROM trace fa WHERE fa.enrollment_id = d.enrollment_id
    AND fa.step = d.step AND fa.kind = 'attempt' AND {payload(sql, "fa", "channel")} <> {dch}
    AND NOT EXISTS (SELECT 1 FROM trace fv WHERE fv.enrollment_id = fa.enrollment_id
      AND fv.step = fa.step AND fv.kind = 'send' AND fv.seq > fa.seq))"""
    return f"""tried AS (
  SELECT a.*, (SELECT min(x.seq) FROM trace x WHERE x.enrollment_id = a.enrollment_id
               AND x.seq > a.seq AND x.kind IN ('attempt', 'receipt')) AS next_seq
  FROM trace a JOIN enrollments e ON e.id = a.enrollment_id
  WHERE a.kind = 'attempt' AND a.at >= :since AND a.at < :until
    AND {sql.clinic("e.customer_id", scope)}),
tries AS (
  SELECT {ch} AS channel, {settled} AS outcome,
         CASE WHEN {oc} IN ({not_tried}) THEN {reason_sql(oc, payload(sql, "a", "detail"))} END
           AS reason,
         CASE WHEN {settles} AND {roc} IN ('delivered', 'failed')
              THEN {sql.between("a.at", "r.at")} END AS latency,
         CASE WHEN {settled} = 'delivered' AND {fallback_sql(sql, "a")} THEN 1 ELSE 0 END
           AS fallback
  FROM tried a LEFT JOIN trace r ON r.enrollment_id = a.enrollment_id AND r.seq = a.next_seq
  UNION ALL
  SELECT d.channel, d.outcome, NULL, NULL,
         CASE WHEN d.outcome = 'delivered' AND {pending_fallback} THEN 1 ELSE 0 END
  FROM deliveries d
  WHERE d.at >= :since AND d.at < :until AND {sql.clinic("d.customer_id", scope)}
    AND NOT EXISTS (SELECT 1 FROM trace s WHERE s.enrollment_id = d.enrollment_id
      AND s.step = d.step AND s.kind = 'attempt' AND {payload(sql, "s", "channel")} = {dch}
      AND s.at >= d.at AND {payload(sql, "s", "outcome")} NOT IN ({not_tried})))"""


def _figures_sql(sql: Sql, scope: ReportScope) -> str:
    failed = quoted(list(FAILED))
    return f"""WITH {_tries_sql(sql, scope)},
ranked AS (SELECT channel, latency,
  row_number() OVER (PARTITION BY channel ORDER BY latency) AS k,
  count(*) OVER (PARTITION BY channel) AS n FROM tries WHERE latency IS NOT NULL)
SELECT 'f', channel, reason, count(*),
  sum(CASE WHEN reason IS NULL AND outcome = 'delivered' THEN 1 ELSE 0 END),
  sum(CASE WHEN reason IS NULL AND outcome IN ({failed}) THEN 1 ELSE 0 END),
  sum(fallback)
FROM tries GROUP BY channel, reason
UNION ALL
SELECT 'l', channel, NULL, max(n),
  max(CASE WHEN 2 * k >= n AND 2 * (k - 1) < n THEN latency END),
  max(CASE WHEN 10 * k >= 9 * n AND 10 * (k - 1) < 9 * n THEN latency END), NULL
FROM ranked GROUP BY channel"""


def _empty() -> dict[str, Any]:
    return {
        "attempted": 0,
        "delivered": 0,
        "failed": 0,
        "skipped": {},
        "fallbacks": 0,
        "receipts": 0,
        "latency_p50_seconds": None,
        "latency_p90_seconds": None,
        "opt_outs": 0,
    }


def channels(conn: Connection, scope: ReportScope) -> dict[str, dict[str, Any]]:
    """Per channel: the report's figures (skips only by the reasons that occur)."""
    sql = Sql(conn.dialect.name)
    params = {"since": sql.stamp(scope.since), "until": sql.stamp(scope.until)}
    rows: dict[str, dict[str, Any]] = {}
    for kind, channel, reason, n, a, b, fallbacks in conn.execute(
        text(_figures_sql(sql, scope)), params
    ):
        row = rows.setdefault(NONE if channel is None else str(channel), _empty())
        if kind == "l":
            row["receipts"] = int(n)
            row["latency_p50_seconds"] = float(a)
            row["latency_p90_seconds"] = float(b)
        elif reason is None:
            row["attempted"] += int(n)
            row["delivered"] += int(a)
            row["failed"] += int(b)
            row["fallbacks"] += int(fallbacks)
        else:
            row["skipped"][str(reason)] = row["skipped"].get(str(reason), 0) + int(n)
            row["fallbacks"] += int(fallbacks)
    opt_outs = f"""SELECT channel, count(DISTINCT customer_id) FROM consents
WHERE granted = {"false" if sql.pg else "0"} AND at >= :since AND at < :until
  AND {sql.clinic("customer_id", scope)} GROUP BY channel"""
    for channel, n in conn.execute(text(opt_outs), params):
        rows.setdefault(NONE if channel is None else str(channel), _empty())["opt_outs"] = int(n)
    return rows
