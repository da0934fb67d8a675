"""New customers and those of them who converted, per local day of first touch: the
acquisition report's totals of each one-day range of a longer one."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class AcquisitionDay(BaseModel):
    """One local day: the customers first touched that day and their cohort's outcome."""

    date: dt.date = Field(description="the local day (report timezone)")
    new_customers: int = Field(description="customers whose first touch lies on the day")
    converted: int = Field(
        description="of them, customers with a conversion event within the window"
    )


class AcquisitionDays(BaseModel):
    """Every day of the range in order, each what the acquisition report of that day
    alone gives added up over its groups."""

    rows: list[AcquisitionDay] = Field(description="one per local day, in order")
    provisional: bool = Field(
        description="true while the window of a customer in the range may still be open "
        "(the range's end plus the window is after now): later conversions can still count"
    )
