"""New customers by first touch, what they converted to within the window, and what
they cost (contract section 2, "New customers", "Conversion", "The seed KPIs")."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from engine.models.reports.groups import FirstTouchGroup
from engine.models.reports.scope import FirstTouchField


class AcquisitionRow(FirstTouchGroup):
    """One group of first-touch fields: its new customers and their cohort's outcome."""

    new_customers: int = Field(description="customers whose first touch lies in the range")
    converted: int = Field(
        description="of them, customers with a conversion event within the window"
    )
    conversion_rate: float | None = Field(
        description="converted / new_customers, four decimals; null when there are none",
        examples=[0.125],
    )
    revenue: Decimal = Field(
        description="yuan: the converted customers' conversion amounts minus their refunds, "
        "within the window after their first touch"
    )
    average_order_value: Decimal | None = Field(
        description="yuan: revenue / the converted customers' conversion events; "
        "null when there are none"
    )
    cost: Decimal | None = Field(
        description="yuan: the cost rows of the range that name this group's value of every "
        "field grouped by; null when a field grouped by is one cost rows never name "
        "(doctor, staff, qrcode, content_id)"
    )
    traffic_cost: Decimal | None = Field(
        description="yuan: cost / new_customers; null when either is missing or 0"
    )
    cost_per_conversion: Decimal | None = Field(
        description="yuan: cost / converted; null when either is missing or 0"
    )
    roi: float | None = Field(
        description="revenue / cost, four decimals; null when cost is missing or 0",
        examples=[2.5],
    )


class AcquisitionReport(BaseModel):
    """New customers per group of first-touch fields, most first, with their conversions
    within the window, revenue and cost."""

    by: list[FirstTouchField] = Field(description="the first-touch fields grouped by")
    rows: list[AcquisitionRow] = Field(
        description="one per group with new customers or cost in the range, most new "
        "customers first"
    )
    provisional: bool = Field(
        description="true while the window of a customer in the range may still be open "
        "(the range's end plus the window is after now): later conversions can still count"
    )
