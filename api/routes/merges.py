"""Merges: customers merged into one because they shared an identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import StaffKey, StoreDep
from api.schemas.customers import MergePublic

router = APIRouter(prefix="/merges", tags=["merges"])


@router.get("", response_model=list[MergePublic])
def list_merges(
    key: StaffKey,
    store: StoreDep,
    customer: Annotated[
        str | None, Query(description="only merges into or of this customer")
    ] = None,
) -> list[MergePublic]:
    """Customers merged because they shared an identity (the audit trail)."""
    return [MergePublic.model_validate(m.model_dump()) for m in store.list_merges(customer)]
