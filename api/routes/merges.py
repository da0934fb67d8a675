"""Merges: customers merged into one because they shared an identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Staff
from api.errors import problem_responses
from api.schemas.customers import MergePublic

router = APIRouter(prefix="/merges", tags=["merges"])


@router.get("", response_model=list[MergePublic], responses=problem_responses(404))
def list_merges(
    caller: Staff,
    customer: Annotated[
        str | None, Query(description="only merges into or of this customer")
    ] = None,
) -> list[MergePublic]:
    """Customers merged because they shared an identity (the audit trail); staff keys
    see merges into customers of their clinics."""
    return [MergePublic.model_validate(m.model_dump()) for m in caller.merges(customer)]
