"""The seed KPIs per group of first-touch fields and for the whole range (contract
section 2, "The seed KPIs")."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

from engine.models.reports.groups import FirstTouchGroup
from engine.models.reports.scope import FirstTouchField


class KpiRow(FirstTouchGroup):
    """The seed KPIs of one group (or, without group fields, of the whole range)."""

    traffic: int = Field(description="流量 traffic: new customers (first touch in the range)")
    conversion_rate: float | None = Field(
        description="转化率 conversion rate: converted / traffic, four decimals; null when "
        "traffic is 0",
        examples=[0.125],
    )
    effective_traffic: int = Field(
        description="有效流量 effective traffic: traffic x conversion rate, i.e. the new "
        "customers with a conversion event within the window"
    )
    average_order_value: Decimal | None = Field(
        description="客单价 average order value, yuan: sales / the converted customers' "
        "conversion events; null when there are none"
    )
    sales: Decimal = Field(
        description="销售额 sales, yuan: effective traffic x average order value, i.e. the "
        "converted customers' conversion amounts minus refunds within the window"
    )
    spread_rate: float | None = Field(
        description="传播率 spread rate: sharing_customers / active_customers, four "
        "decimals; null when no customer was active",
        examples=[0.05],
    )
    active_customers: int = Field(
        description="customers (of this first-touch group) with an activity event in the range"
    )
    sharing_customers: int = Field(
        description="customers (of this first-touch group) with a share event (share.sent) "
        "in the range"
    )
    cost: Decimal | None = Field(
        description="yuan: the cost rows attributed to the group (see the acquisition "
        "report); the total has every cost row of the range"
    )
    traffic_cost: Decimal | None = Field(
        description="流量成本 traffic cost, yuan: cost / traffic; null when either is missing or 0"
    )
    cost_per_conversion: Decimal | None = Field(
        description="cost per conversion, yuan: cost / effective traffic; null when either "
        "is missing or 0"
    )
    roi: float | None = Field(
        description="ROI: sales / cost, four decimals; null when cost is missing or 0",
        examples=[2.5],
    )


class KpiReport(BaseModel):
    """The seed KPIs per group of first-touch fields, most traffic first, and in total."""

    by: list[FirstTouchField] = Field(description="the first-touch fields grouped by")
    rows: list[KpiRow] = Field(
        description="one per group with traffic, active customers or cost in the range"
    )
    total: KpiRow = Field(
        description="the whole range: every new customer, active customer and cost row"
    )
    provisional: bool = Field(
        description="true while the window of a customer in the range may still be open "
        "(the range's end plus the window is after now)"
    )
