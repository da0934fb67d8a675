"""Cost schemas: rows of spend sent by ad platforms, and what writing them did."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from engine.models.events import Cost

#: Rows one request may carry; larger imports go through ``carepath costs import``.
MAX_ROWS = 5000


class CostCreate(Cost):
    """One day's spend on the dimensions it names; a dimension left out means any."""


class CostsCreate(BaseModel):
    """Cost rows, written together: one bad row refuses the request and writes nothing."""

    model_config = ConfigDict(extra="forbid")

    rows: list[CostCreate] = Field(
        min_length=1,
        max_length=MAX_ROWS,
        description="the rows; one with the day and dimensions of a stored row replaces it",
    )


class CostsWrittenPublic(BaseModel):
    """What writing the rows did."""

    created: int = Field(description="rows new to the store")
    replaced: int = Field(
        description="rows that replaced a stored row of the same day and dimensions "
        "(a row repeated within the request counts once: the last one is kept)"
    )


class CostPublic(Cost):
    """A stored cost row."""

    updated_at: datetime = Field(description="when the row was last written")
    updated_by: str = Field(description="who wrote it: api:<key name> or cli:<file>")


class CostList(BaseModel):
    """Cost rows of a range, by date and dimensions, and their total."""

    rows: list[CostPublic] = Field(description="the rows, by date and dimensions")
    amount: Decimal = Field(description="the sum of the rows' amounts, in yuan")
