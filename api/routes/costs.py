"""Costs: what ad platforms charged per day and dimensions, for cost per customer and
ROI. A row sent again for the same day and dimensions replaces the earlier one."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, StoreDep
from api.schemas.costs import CostList, CostPublic, CostsCreate, CostsWrittenPublic
from engine.models.events import DIMENSION_MAX

router = APIRouter(prefix="/costs", tags=["costs"])

#: Rows one read answers at most.
MAX_LIST = 10000


@router.post("", response_model=CostsWrittenPublic)
async def put_costs(body: CostsCreate, caller: Admin, store: StoreDep) -> CostsWrittenPublic:
    """Store cost rows; one with the day and dimensions of a stored row replaces it."""
    written = await run_in_threadpool(
        store.put_costs, body.rows, source=caller.source, at=datetime.now(UTC)
    )
    return CostsWrittenPublic(created=written.created, replaced=written.replaced)


@router.get("", response_model=CostList)
async def list_costs(
    caller: Admin,
    store: StoreDep,
    start: Annotated[
        date | None, Query(alias="from", description="first day (YYYY-MM-DD), included")
    ] = None,
    end: Annotated[date | None, Query(alias="to", description="last day, excluded")] = None,
    clinic_id: Annotated[
        str | None,
        Query(min_length=1, max_length=DIMENSION_MAX, description="only this clinic's rows"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST, description="at most this many rows")] = 1000,
) -> CostList:
    """Cost rows with from <= date < to, by date and dimensions, and their total."""
    rows = await run_in_threadpool(
        lambda: store.list_costs(start, end, clinic_id=clinic_id, limit=limit)
    )
    public = [CostPublic.model_validate(row.model_dump()) for row in rows]
    total = sum((r.amount for r in public), Decimal(0)).quantize(Decimal("0.01"))
    return CostList(rows=public, amount=total)
