"""Active customers per day (contract section 2, "Active customers")."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class ActiveDay(BaseModel):
    """One local day: customers active that day, the last 7 and the last 30 days."""

    date: dt.date = Field(description="the local day (report timezone)")
    dau: int = Field(description="customers with an activity event on the day")
    wau: int = Field(description="distinct customers active on the day or the 6 before it")
    mau: int = Field(description="distinct customers active on the day or the 29 before it")
    stickiness: float | None = Field(
        description="dau / mau, four decimals; null when mau is 0", examples=[0.1234]
    )


class ActiveReport(BaseModel):
    """Daily, weekly and monthly active customers, one row per day of the range."""

    rows: list[ActiveDay] = Field(description="one per local day, in order")
