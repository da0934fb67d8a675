"""Hand-written SQL for the doctors and clinics reports (contract section 3), as an
analyst writes them from the definitions in ``docs/reports.md``:

- doctors: views, consultations and bookings by the ``doctor_id`` they name; payments,
  losses and refunds by the doctor of the same customer's latest booking of their
  ``appointment_id``; new customers by their first touch's doctor; ``(none)`` for
  whatever names none;
- clinics: by the customer's ``clinic_id`` attribute: new customers and how many of them
  converted within the window, bookings, payments and revenue in the range, follows
  and unfollows per Official Account (``app_id``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, text

from bench.report_sql import Sql, quoted
from bench.report_yardsticks import Yardstick, first_touch_sql, outcome_sql
from engine.models.reports.scope import NONE, ReportScope

__all__ = ["clinics", "doctors"]


def _valued(expression: str) -> str:
    return f"coalesce(nullif({expression}, ''), '{NONE}')"


def _latest_booking(sql: Sql, scope: ReportScope) -> str:
    """``booked(customer_id, appointment_id, doctor)``: each appointment's latest booking."""
    appointment = sql.prop("properties", "appointment_id")
    return f"""booked AS (
  SELECT customer_id, appointment_id, doctor FROM (
    SELECT customer_id, {appointment} AS appointment_id,
           {_valued(sql.prop("properties", "doctor_id"))} AS doctor,
           row_number() OVER (PARTITION BY customer_id, {appointment}
                              ORDER BY at DESC, id DESC) AS n
    FROM events WHERE name IN ({quoted(scope.roles.names("booking"))})
      AND {appointment} IS NOT NULL) ranked
  WHERE n = 1)"""


def _doctors_sql(sql: Sql, scope: ReportScope) -> str:
    roles = scope.roles
    views = quoted([*roles.names("page_view"), *roles.names("content_view")])
    intent, booking = quoted(roles.names("intent")), quoted(roles.names("booking"))
    conversion, loss = quoted(roles.names("conversion")), quoted(roles.names("loss"))
    refund = quoted(roles.names("refund"))
    fen = sql.fen("e.properties")
    clinic = sql.clinic("e.customer_id", scope)
    return f"""WITH {_latest_booking(sql, scope)},
{first_touch_sql(sql, scope, "t.doctor", ranged=True)},
facts AS (
  SELECT {_valued(sql.prop("e.properties", "doctor_id"))} AS doctor,
         CASE WHEN e.name IN ({views}) THEN 1 ELSE 0 END AS views,
         CASE WHEN e.name IN ({intent}) THEN 1 ELSE 0 END AS consultations,
         CASE WHEN e.name IN ({booking}) THEN 1 ELSE 0 END AS bookings,
         0 AS paid, 0 AS cancelled, 0 AS refunded, 0 AS fen, 0 AS new
  FROM events e WHERE e.name IN ({views}, {intent}, {booking})
    AND e.at >= :since AND e.at < :until AND {clinic}
  UNION ALL
  SELECT coalesce(b.doctor, '{NONE}'), 0, 0, 0,
         CASE WHEN e.name IN ({conversion}) THEN 1 ELSE 0 END,
         CASE WHEN e.name IN ({loss}) THEN 1 ELSE 0 END,
         CASE WHEN e.name IN ({refund}) THEN 1 ELSE 0 END,
         CASE WHEN e.name IN ({conversion}) THEN {fen}
              WHEN e.name IN ({refund}) THEN -{fen} ELSE 0 END, 0
  FROM events e LEFT JOIN booked b ON b.customer_id = e.customer_id
   AND b.appointment_id = {sql.prop("e.properties", "appointment_id")}
  WHERE e.name IN ({conversion}, {loss}, {refund}) AND e.at >= :since AND e.at < :until
    AND {clinic}
  UNION ALL
  SELECT {_valued("g")}, 0, 0, 0, 0, 0, 0, 0, 1 FROM first)
SELECT doctor, sum(views), sum(consultations), sum(bookings), sum(paid), sum(cancelled),
       sum(refunded), sum(fen), sum(new)
FROM facts GROUP BY doctor"""


def doctors(conn: Connection, scope: ReportScope) -> dict[str, tuple[int, ...]]:
    """Per doctor: views, consultations, bookings, paid, cancelled, refunded, revenue
    (fen), new customers."""
    sql = Sql(conn.dialect.name)
    params = {"since": sql.stamp(scope.since), "until": sql.stamp(scope.until)}
    rows = conn.execute(text(_doctors_sql(sql, scope)), params)
    return {str(d): tuple(int(v) for v in rest) for d, *rest in rows}


def _clinics_sql(sql: Sql, scope: ReportScope, window: dt.timedelta) -> str:
    roles = scope.roles
    booking, conversion = quoted(roles.names("booking")), quoted(roles.names("conversion"))
    refund = quoted(roles.names("refund"))
    fen = sql.fen("e.properties")
    return f"""WITH {first_touch_sql(sql, scope, None, ranged=True)},
{outcome_sql(sql, scope, window)},
facts AS (
  SELECT e.customer_id, 0 AS new, 0 AS converted,
         CASE WHEN e.name IN ({booking}) THEN 1 ELSE 0 END AS bookings,
         CASE WHEN e.name IN ({conversion}) THEN 1 ELSE 0 END AS paid,
         CASE WHEN e.name IN ({conversion}) THEN {fen}
              WHEN e.name IN ({refund}) THEN -{fen} ELSE 0 END AS fen
  FROM events e WHERE e.name IN ({booking}, {conversion}, {refund})
    AND e.at >= :since AND e.at < :until
  UNION ALL
  SELECT c.customer_id, 1, CASE WHEN o.customer_id IS NULL THEN 0 ELSE 1 END, 0, 0, 0
  FROM first c LEFT JOIN outcome o ON o.customer_id = c.customer_id)
SELECT {_valued(sql.prop("k.attributes", "clinic_id"))} AS clinic, sum(new), sum(converted),
       sum(bookings), sum(paid), sum(fen)
FROM facts f JOIN customers k ON k.id = f.customer_id
WHERE {sql.clinic("k.id", scope)}
GROUP BY {_valued(sql.prop("k.attributes", "clinic_id"))}"""


def _followers_sql(sql: Sql, scope: ReportScope) -> str:
    follow, unfollow = quoted(scope.roles.names("follow")), quoted(scope.roles.names("unfollow"))
    clinic = _valued(sql.prop("k.attributes", "clinic_id"))
    app = _valued(sql.prop("e.properties", "app_id"))
    return f"""SELECT {clinic}, {app},
       sum(CASE WHEN e.name IN ({follow}) THEN 1 ELSE 0 END),
       sum(CASE WHEN e.name IN ({unfollow}) THEN 1 ELSE 0 END)
FROM events e JOIN customers k ON k.id = e.customer_id
WHERE e.name IN ({follow}, {unfollow}) AND e.at >= :since AND e.at < :until
  AND {sql.clinic("k.id", scope)}
GROUP BY {clinic}, {app}"""


def clinics(window: dt.timedelta) -> Yardstick:
    """Per clinic: (new customers, converted, bookings, paid, revenue in fen) and
    follows and unfollows per Official Account."""

    def run(conn: Connection, scope: ReportScope) -> dict[str, Any]:
        sql = Sql(conn.dialect.name)
        params = {"since": sql.stamp(scope.since), "until": sql.stamp(scope.until)}
        figures = {
            str(c): tuple(int(v) for v in rest)
            for c, *rest in conn.execute(text(_clinics_sql(sql, scope, window)), params)
        }
        followers: dict[str, dict[str, tuple[int, int]]] = {}
        for clinic, app, gained, lost in conn.execute(text(_followers_sql(sql, scope)), params):
            followers.setdefault(str(clinic), {})[str(app)] = (int(gained), int(lost))
        return {"figures": figures, "followers": followers}

    return run
