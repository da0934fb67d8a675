"""The report pages' parts that need no browser: tables, totals and chart data from
report rows, and the funnel builder's form read as the API's funnel body."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from api.console.report_funnel import body_of, problems_of
from api.console.report_specs import SPECS, table_of
from api.routes.reports.funnel import FunnelBody
from engine.models.reports.acquisition import AcquisitionRow
from engine.models.reports.active import ActiveDay
from engine.models.reports.channels import ChannelRow
from engine.models.reports.doctors import DoctorRow
from engine.models.reports.kpis import KpiRow


def _doctor(doctor: str, bookings: int, revenue: str) -> DoctorRow:
    return DoctorRow(
        doctor_id=doctor,
        views=3,
        consultations=1,
        bookings=bookings,
        paid=1,
        cancelled=0,
        refunded=0,
        revenue=Decimal(revenue),
        new_customers=2,
    )


def test_a_tables_total_adds_counts_and_money_and_the_chart_has_each_row() -> None:
    rows = [_doctor("d1", 4, "120.50"), _doctor("d2", 1, "30.00")]
    table = table_of(SPECS["doctors"], rows)
    assert table.total is not None
    assert table.total["bookings"] == 5 and table.total["revenue"] == Decimal("150.50")
    assert "doctor_id" not in table.total
    assert table.chart["categories"] == ["d1", "d2"]
    bookings = next(s for s in table.chart["series"] if s["key"] == "bookings")
    assert bookings["data"] == [4, 1]


def test_active_days_have_no_total_and_a_line_per_figure() -> None:
    day = dt.date(2026, 3, 1)
    rows = [ActiveDay(date=day, dau=2, wau=5, mau=9, stickiness=0.2222)]
    table = table_of(SPECS["active"], rows)
    assert table.total is None
    assert table.chart["type"] == "line" and table.chart["categories"] == ["2026-03-01"]
    assert [s["key"] for s in table.chart["series"]] == ["dau", "wau", "mau"]


def test_a_channels_skips_are_summed_for_its_column() -> None:
    row = ChannelRow(channel="sms", attempted=4, skipped={"consent": 2, "cap": 1})
    table = table_of(SPECS["channels"], [row])
    assert table.rows[0]["skipped_total"] == 3
    assert table.total is not None and table.total["skipped_total"] == 3


def test_grouped_reports_lead_with_the_fields_grouped_by() -> None:
    columns = SPECS["acquisition"].columns
    table = table_of(SPECS["acquisition"], [], ["channel", "utm_source"])
    assert [c.key for c in table.columns] == ["channel", "utm_source", *(c.key for c in columns)]


def test_the_builders_form_is_the_apis_funnel_body() -> None:
    values = {
        "from": "2026-03-01",
        "to": "2026-03-31",
        "clinic_id": "",
        "window": "30d",
        "by": "",
        "steps": [
            {"event": "page.viewed", "key": "page", "value": "mall"},
            {"event": "", "key": "", "value": ""},
            {"event": "appointment.booked", "key": "", "value": ""},
        ],
    }
    body = FunnelBody.model_validate(body_of(values))
    assert [s.event for s in body.steps] == ["page.viewed", "appointment.booked"]
    assert body.steps[0].where is not None and body.steps[1].where is None
    assert body.start == dt.date(2026, 3, 1) and body.end == dt.date(2026, 4, 1)
    assert body.clinic_id is None and body.by is None
    assert body.window == dt.timedelta(days=30)


def test_a_bad_form_names_its_fields() -> None:
    values = {
        "from": "2026-03-01",
        "to": "not a day",
        "clinic_id": "",
        "window": "2000d",
        "by": "nonsense",
        "steps": [{"event": "page.viewed", "key": "", "value": ""}],
    }
    with pytest.raises(ValidationError) as refused:
        FunnelBody.model_validate(body_of(values))
    errors = problems_of(list(refused.value.errors()))
    fields = {e["field"] for e in errors}
    assert {"steps", "window", "by", "to"} <= fields


def test_amounts_per_something_are_not_added_up() -> None:
    rows = [
        AcquisitionRow(
            channel=channel,
            new_customers=new,
            converted=converted,
            conversion_rate=converted / new,
            revenue=Decimal(revenue),
            average_order_value=Decimal(revenue) / converted,
            cost=Decimal("100"),
            traffic_cost=Decimal("100") / new,
            cost_per_conversion=Decimal("100") / converted,
            roi=float(Decimal(revenue) / 100),
        )
        for channel, new, converted, revenue in (("wechat", 10, 2, "400"), ("sms", 20, 5, "500"))
    ]
    table = table_of(SPECS["acquisition"], rows, ["channel"])
    assert table.total == {
        "new_customers": 30,
        "converted": 7,
        "revenue": Decimal("900"),
        "cost": Decimal("200"),
    }  # no sum of averages or costs per customer


def test_the_kpi_table_totals_with_the_reports_own_total() -> None:
    def kpi(traffic: int, aov: str | None, spread: float | None) -> KpiRow:
        return KpiRow.model_validate(
            {
                "traffic": traffic,
                "conversion_rate": None,
                "effective_traffic": 0,
                "average_order_value": aov,
                "sales": "0",
                "spread_rate": spread,
                "active_customers": 3,
                "sharing_customers": 1,
                "cost": None,
                "traffic_cost": None,
                "cost_per_conversion": None,
                "roi": None,
            }
        )

    rows, total = [kpi(5, "120", 0.2), kpi(7, "80", 0.5)], kpi(12, "96", 0.3333)
    table = table_of(SPECS["kpis"], rows, [], total)
    assert table.total is not None
    assert (table.total["traffic"], table.total["average_order_value"]) == (12, Decimal("96"))
    assert table.total["spread_rate"] == 0.3333  # the report's, not a sum of rates
    assert "channel" not in table.total
