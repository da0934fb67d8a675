"""What the reports benchmark asks: per report, the store call, its yardsticks, and how
each answer is read into the same plain form (:mod:`bench.report_compare`).

The questions: the scope's range (the last ``--days`` days of the demo) for every
report; acquisition by ``utm_source`` (the field cost rows name) and the KPIs by
``channel``, both with the default 60-day window; the seed funnel by the entry event's
``content_id``; clinics with the default window; the metrics of the whole journey
``school_screening_parents``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from bench import report_yardsticks as yard
from bench.report_compare import per, ratio, yuan
from bench.report_yard_channels import channels
from bench.report_yard_funnel import SEED_STEPS, TOTAL, funnel
from bench.report_yard_places import clinics, doctors
from engine.models.reports.funnel import FunnelRequest
from engine.models.reports.scope import DEFAULT_WINDOW, FirstTouchField, ReportScope
from engine.store.sql import SqlStore

__all__ = ["Case", "cases"]

ACQUISITION_BY: FirstTouchField = "utm_source"
KPIS_BY: FirstTouchField = "channel"
_COSTED = tuple(yard.COST_COLUMNS)


@dataclass(frozen=True)
class Case:
    """One report: the store call, yardstick variants, and both answers in plain form."""

    name: str
    report: Callable[[], Any]
    yardsticks: dict[str, Callable[[Connection], Any]]
    expected: Callable[[Any], Any]
    shown: Callable[[Any], Any]


def _bound(
    y: Callable[[Connection, ReportScope], Any], scope: ReportScope
) -> Callable[[Connection], Any]:
    return lambda conn: y(conn, scope)


# -- plain forms --------------------------------------------------------------------


def _active_expected(rows: list[tuple[dt.date, int, int, int]]) -> list[dict[str, Any]]:
    return [
        {"date": d, "dau": a, "wau": w, "mau": m, "stickiness": ratio(a, m)} for d, a, w, m in rows
    ]


def _cohort_row(figures: list[int], cost: int | None) -> dict[str, Any]:
    new, converted, conversions, fen = figures
    return {
        "new_customers": new,
        "converted": converted,
        "conversion_rate": ratio(converted, new),
        "revenue": yuan(fen),
        "average_order_value": per(fen, conversions),
        "cost": None if cost is None else yuan(cost),
        "traffic_cost": per(cost, new),
        "cost_per_conversion": per(cost, converted),
        "roi": ratio(fen, cost),
    }


def _acquisition_expected(by: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def expected(found: dict[str, Any]) -> dict[str, Any]:
        groups, costs = found["groups"], found["costs"]
        costed = by in _COSTED
        return {
            g: _cohort_row(groups.get(g, [0, 0, 0, 0]), costs.get(g, 0) if costed else None)
            for g in {*groups, *costs}
        }

    return expected


def _by_group(by: str, rows: list[Any], fields: set[str]) -> dict[str, Any]:
    return {getattr(r, by): r.model_dump(include=fields) for r in rows}


def _kpi_row(figures: list[int], spread: tuple[int, int], cost: int | None) -> dict[str, Any]:
    row = _cohort_row(figures, cost)
    active, sharing = spread
    return {
        "traffic": row["new_customers"],
        "conversion_rate": row["conversion_rate"],
        "effective_traffic": row["converted"],
        "average_order_value": row["average_order_value"],
        "sales": row["revenue"],
        "spread_rate": ratio(sharing, active),
        "active_customers": active,
        "sharing_customers": sharing,
        "cost": row["cost"],
        "traffic_cost": row["traffic_cost"],
        "cost_per_conversion": row["cost_per_conversion"],
        "roi": row["roi"],
    }


def _kpis_expected(by: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def expected(found: dict[str, Any]) -> dict[str, Any]:
        groups, costs, spread = found["groups"], found["costs"], found["spread"]
        costed = by in _COSTED
        rows = {
            g: _kpi_row(
                groups.get(g, [0, 0, 0, 0]),
                spread.get(g, (0, 0)),
                costs.get(g, 0) if costed else None,
            )
            for g in {*groups, *costs, *spread}
        }
        total = [sum(f[i] for f in groups.values()) for i in range(4)]
        reach = (sum(a for a, _ in spread.values()), sum(s for _, s in spread.values()))
        return {"rows": rows, "total": _kpi_row(total, reach, found["total_cost"])}

    return expected


def _kpis_shown(by: str) -> Callable[[Any], dict[str, Any]]:
    fields = set(_kpi_row([0, 0, 0, 0], (0, 0), 0))

    def shown(report: Any) -> dict[str, Any]:
        return {
            "rows": _by_group(by, report.rows, fields),
            "total": report.total.model_dump(include=fields),
        }

    return shown


def _funnel_steps(figures: list[tuple[int, float | None]]) -> list[dict[str, Any]]:
    first = figures[0][0]
    return [
        {
            "event": SEED_STEPS[k][0],
            "customers": n,
            "from_previous": ratio(n, figures[k - 1][0]) if k else None,
            "from_first": ratio(n, first),
            "median_seconds_from_previous": median if k else None,
        }
        for k, (n, median) in enumerate(figures)
    ]


def _funnel_expected(found: dict[str, list[tuple[int, float | None]]]) -> dict[str, Any]:
    total = found.get(TOTAL, [(0, None)] * len(SEED_STEPS))
    groups = {g: _funnel_steps(f) for g, f in found.items() if g != TOTAL}
    return {"steps": _funnel_steps(total), "groups": groups}


def _funnel_shown(report: Any) -> dict[str, Any]:
    return {
        "steps": [s.model_dump() for s in report.steps],
        "groups": {g.value: [s.model_dump() for s in g.steps] for g in report.groups or []},
    }


_DOCTOR = ("views", "consultations", "bookings", "paid", "cancelled", "refunded")


def _doctors_expected(found: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    return {
        d: {**dict(zip(_DOCTOR, v[:6], strict=True)), "revenue": yuan(v[6]), "new_customers": v[7]}
        for d, v in found.items()
    }


def _doctors_shown(report: Any) -> dict[str, Any]:
    return {r.doctor_id: r.model_dump(exclude={"doctor_id"}) for r in report.rows}


def _clinics_expected(found: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    figures, followers = found["figures"], found["followers"]
    for clinic in {*figures, *followers}:
        new, converted, bookings, paid, fen = figures.get(clinic, (0, 0, 0, 0, 0))
        apps = followers.get(clinic, {})
        if not (new or converted or bookings or paid or fen or apps):
            continue
        out[clinic] = {
            "new_customers": new,
            "converted": converted,
            "conversion_rate": ratio(converted, new),
            "bookings": bookings,
            "paid": paid,
            "revenue": yuan(fen),
            "followers_gained": sum(g for g, _ in apps.values()),
            "followers_lost": sum(lost for _, lost in apps.values()),
            "followers": {a: {"gained": g, "lost": x, "net": g - x} for a, (g, x) in apps.items()},
        }
    return out


def _clinics_shown(report: Any) -> dict[str, Any]:
    return {r.clinic_id: r.model_dump(exclude={"clinic_id", "provisional"}) for r in report.rows}


def _channels_shown(report: Any) -> dict[str, Any]:
    out = {}
    for r in report.rows:
        row = r.model_dump(exclude={"channel"})
        row["skipped"] = {k: v for k, v in row["skipped"].items() if v}
        out[r.channel] = row
    return out


def cases(store: SqlStore, scope: ReportScope) -> list[Case]:
    """The benchmark's questions over ``scope``."""
    window = DEFAULT_WINDOW
    request = FunnelRequest.model_validate(
        {
            "steps": [
                {"event": e} if key is None else {"event": e, "where": {key: value}}
                for e, key, value in SEED_STEPS
            ],
            "window": "60d",
            "by": "event.content_id",
        }
    )
    acquisition = {"by": [ACQUISITION_BY]}
    fields = set(_cohort_row([0, 0, 0, 0], 0))

    return [
        Case(
            "active",
            lambda: store.active_report(scope),
            {name: _bound(y, scope) for name, y in yard.active.items()},
            _active_expected,
            lambda r: [row.model_dump() for row in r.rows],
        ),
        Case(
            f"acquisition by {ACQUISITION_BY}",
            lambda: store.acquisition_report(scope, acquisition["by"], window),
            {"cohort": _bound(yard.acquisition(ACQUISITION_BY, window), scope)},
            _acquisition_expected(ACQUISITION_BY),
            lambda r: _by_group(ACQUISITION_BY, r.rows, fields),
        ),
        Case(
            f"kpis by {KPIS_BY}",
            lambda: store.kpi_report(scope, [KPIS_BY], window),
            {"cohort": _bound(yard.kpis(KPIS_BY, window), scope)},
            _kpis_expected(KPIS_BY),
            _kpis_shown(KPIS_BY),
        ),
        Case(
            "funnel (seed, by content_id)",
            lambda: store.funnel_report(scope, request),
            {"steps": _bound(funnel(window), scope)},
            _funnel_expected,
            _funnel_shown,
        ),
        Case(
            "doctors",
            lambda: store.doctors_report(scope),
            {"union": _bound(doctors, scope)},
            _doctors_expected,
            _doctors_shown,
        ),
        Case(
            "clinics",
            lambda: store.clinics_report(scope),
            {"union": _bound(clinics(window), scope)},
            _clinics_expected,
            _clinics_shown,
        ),
        Case(
            "channels",
            lambda: store.channels_report(scope),
            {"probe": _bound(channels, scope)},
            lambda found: found,
            _channels_shown,
        ),
    ]
