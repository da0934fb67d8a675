"""Reports: where customers came from (first touch) and what became of them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from api.deps import AdminKey, StaffKey, StoreDep
from api.errors import problem_responses
from engine.models.attribution import SourceRow, TouchKind

router = APIRouter(prefix="/v1", tags=["attribution"], responses=problem_responses(401, 403, 422))

Dimension = Literal["channel", "activity", "clinic", "doctor"]


class SourceReport(BaseModel):
    """Customers grouped by their first touch."""

    by: list[Dimension] = Field(description="the first-touch fields grouped by")
    rows: list[SourceRow] = Field(description="one per distinct value(s), most customers first")
    customers: int = Field(description="customers with a first touch in the report")


@router.get("/reports/sources", response_model=SourceReport)
def source_report(
    key: AdminKey,
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


class TouchPublic(BaseModel):
    """One touch of a customer."""

    kind: TouchKind = Field(description="qr_scan, follow, contact_add, utm_visit or imported")
    fields: dict[str, Any] = Field(description="its attribution (channel, activity, ..., utm_*)")
    qrcode: str | None = Field(None, description="the code it came through, if carepath's")
    at: datetime = Field(description="when it happened")


@router.get(
    "/customers/{customer_id}/touches",
    response_model=list[TouchPublic],
    responses=problem_responses(404),
)
def list_touches(
    customer_id: str,
    key: StaffKey,
    store: StoreDep,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="at most this many, newest first")
    ] = 100,
) -> list[TouchPublic]:
    """Every touch of a customer, newest first (the first touch is in the profile's source)."""
    return [
        TouchPublic(kind=t.kind, fields=t.fields, qrcode=t.code_id, at=t.at)
        for t in store.list_touches(customer_id, limit)
    ]
