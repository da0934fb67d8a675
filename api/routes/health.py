"""Liveness: answers without auth, for load balancers and orchestrators."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The service answers."""

    status: Literal["ok"] = Field("ok", description="always ok when the process serves requests")


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Answer ok while the process serves requests (no auth)."""
    return Health()
