"""What each report page shows: its table's columns, its chart, its own filters.

Pure data: the handler (``api/console/reports.py``) asks the API's own report routes for
a report, these functions turn its rows into table rows, totals and chart series, and
the templates word and format them (every label is a gettext message of the
templates, keyed by the column names here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

#: ``price`` is money per something (an average order value, a cost per customer):
#: shown as money, never added up.
Kind = Literal["text", "date", "count", "money", "price", "rate", "seconds"]
ChartType = Literal["line", "bar"]
#: Column kinds a table's total row adds up.
SUMMED: frozenset[Kind] = frozenset({"count", "money"})


@dataclass(frozen=True)
class Column:
    """One column of a report's table: the row field it shows and how to read it."""

    key: str
    kind: Kind


@dataclass(frozen=True)
class Spec:
    """One report page: its columns, the chart's type and series, its own filters."""

    name: str
    columns: tuple[Column, ...]
    chart: ChartType
    series: tuple[str, ...]
    grouped: bool = False
    windowed: bool = False
    totals: bool = True
    #: The total row is the report's own ``total`` (every column, ratios included),
    #: not a sum of the rows.
    reported_total: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)


def _cols(*pairs: tuple[str, Kind]) -> tuple[Column, ...]:
    return tuple(Column(key, kind) for key, kind in pairs)


SPECS: dict[str, Spec] = {
    "active": Spec(
        "active",
        _cols(
            ("date", "date"),
            ("dau", "count"),
            ("wau", "count"),
            ("mau", "count"),
            ("stickiness", "rate"),
        ),
        "line",
        ("dau", "wau", "mau"),
        totals=False,
    ),
    "acquisition": Spec(
        "acquisition",
        _cols(
            ("new_customers", "count"),
            ("converted", "count"),
            ("conversion_rate", "rate"),
            ("revenue", "money"),
            ("average_order_value", "price"),
            ("cost", "money"),
            ("traffic_cost", "price"),
            ("cost_per_conversion", "price"),
            ("roi", "rate"),
        ),
        "bar",
        ("new_customers", "converted"),
        grouped=True,
        windowed=True,
    ),
    "kpis": Spec(
        "kpis",
        _cols(
            ("traffic", "count"),
            ("conversion_rate", "rate"),
            ("effective_traffic", "count"),
            ("average_order_value", "price"),
            ("sales", "money"),
            ("spread_rate", "rate"),
            ("active_customers", "count"),
            ("sharing_customers", "count"),
            ("cost", "money"),
            ("traffic_cost", "price"),
            ("cost_per_conversion", "price"),
            ("roi", "rate"),
        ),
        "bar",
        ("traffic", "effective_traffic"),
        grouped=True,
        windowed=True,
        reported_total=True,
    ),
    "channels": Spec(
        "channels",
        _cols(
            ("channel", "text"),
            ("attempted", "count"),
            ("delivered", "count"),
            ("failed", "count"),
            ("skipped_total", "count"),
            ("fallbacks", "count"),
            ("receipts", "count"),
            ("latency_p50_seconds", "seconds"),
            ("latency_p90_seconds", "seconds"),
            ("opt_outs", "count"),
        ),
        "bar",
        ("delivered", "failed", "skipped_total"),
    ),
    "doctors": Spec(
        "doctors",
        _cols(
            ("doctor_id", "text"),
            ("views", "count"),
            ("consultations", "count"),
            ("bookings", "count"),
            ("paid", "count"),
            ("cancelled", "count"),
            ("refunded", "count"),
            ("revenue", "money"),
            ("new_customers", "count"),
        ),
        "bar",
        ("bookings", "paid", "new_customers"),
    ),
    "clinics": Spec(
        "clinics",
        _cols(
            ("clinic_id", "text"),
            ("new_customers", "count"),
            ("converted", "count"),
            ("conversion_rate", "rate"),
            ("followers_gained", "count"),
            ("followers_lost", "count"),
            ("bookings", "count"),
            ("paid", "count"),
            ("revenue", "money"),
        ),
        "bar",
        ("new_customers", "converted", "paid"),
    ),
}
#: The reports in the order the index lists them (the funnel builder last).
NAMES: tuple[str, ...] = (*SPECS, "funnel")


@dataclass(frozen=True)
class Table:
    """A report as the page shows it: columns, rows of plain values, the total row
    (None for a report whose rows do not add up) and the chart's data."""

    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None
    chart: dict[str, Any]


def plain(row: BaseModel) -> dict[str, Any]:
    """A report row as a dict of its fields, with a channel row's skips summed."""
    out = row.model_dump()
    skipped = out.get("skipped")
    if isinstance(skipped, dict):
        out["skipped_total"] = sum(int(v) for v in skipped.values())
    return out


def columns_of(spec: Spec, by: Sequence[str]) -> tuple[Column, ...]:
    """The spec's columns, after the first-touch fields grouped by (grouped reports)."""
    if not spec.grouped:
        return spec.columns
    return (*(Column(name, "text") for name in by), *spec.columns)


def label_of(row: Mapping[str, Any], columns: Sequence[Column]) -> str:
    """A row's name on the chart's axis: its text columns joined by " / "."""
    parts = [str(row[c.key]) for c in columns if c.kind in ("text", "date")]
    return " / ".join(parts)


def total_of(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> dict[str, Any]:
    """The sum of every count and money column (others are left out)."""
    total: dict[str, Any] = {}
    for column in columns:
        if column.kind not in SUMMED:
            continue
        values = [row[column.key] for row in rows if row[column.key] is not None]
        if column.kind == "money":
            total[column.key] = sum(values, Decimal(0)) if values else None
        else:
            total[column.key] = sum(values)
    return total


def chart_value(value: Any) -> float | int | str | None:
    """A figure as JSON for the chart: money as a number, days as ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) or value is None:
        return value
    return str(value)


def table_of(
    spec: Spec,
    rows: Sequence[BaseModel],
    by: Sequence[str] = (),
    reported: BaseModel | None = None,
) -> Table:
    """The page's table and chart of a report's rows; ``reported`` is the report's own
    total row, used when the spec says so."""
    columns = columns_of(spec, by)
    plain_rows = [plain(row) for row in rows]
    chart = {
        "type": spec.chart,
        "categories": [label_of(row, columns) for row in plain_rows],
        "series": [
            {"key": key, "data": [chart_value(row[key]) for row in plain_rows]}
            for key in spec.series
        ],
    }
    total: dict[str, Any] | None = None
    if spec.reported_total and reported is not None:
        figures = plain(reported)
        total = {c.key: figures[c.key] for c in columns if c.kind not in ("text", "date")}
    elif spec.totals:
        total = total_of(plain_rows, columns)
    return Table(columns, plain_rows, total, chart)
