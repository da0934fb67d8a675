"""Reports: where customers came from (first touch) and what became of them.

(A customer's own touches are read under ``/v1/customers/{id}/touches``.)"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from api.deps import Admin, StoreDep
from engine.models.attribution import SourceRow

router = APIRouter()

Dimension = Literal["channel", "activity", "clinic", "doctor"]


class SourceReport(BaseModel):
    """Customers grouped by their first touch."""

    by: list[Dimension] = Field(description="the first-touch fields grouped by")
    rows: list[SourceRow] = Field(description="one per distinct value(s), most customers first")
    customers: int = Field(description="customers with a first touch in the report")


@router.get("/sources", response_model=SourceReport)
def source_report(
    caller: Admin,
    store: StoreDep,
    by: Annotated[
        list[Dimension] | None,
        Query(description="group by these first-touch fields (by=channel&by=clinic)"),
    ] = None,
    since: Annotated[
        AwareDatetime | None, Query(description="first touches at or after this time")
    ] = None,
) -> SourceReport:
    """Customers by first-touch channel, activity, clinic or doctor, with every touch of
    theirs counted and how many converted in a journey (an enrollment's goal was met)."""
    dims: list[Dimension] = list(dict.fromkeys(by or ["channel"]))
    rows = store.source_report(dims, since=since)
    return SourceReport(by=dims, rows=rows, customers=sum(r.customers for r in rows))
