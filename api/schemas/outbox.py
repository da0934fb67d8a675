"""Outbox schemas: what waits to reach Temporal, what failed, and an operator's answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import DispatchOutcome

OutboxKindName = Literal["event", "tag", "segment", "signal"]
OutboxStateName = Literal["pending", "retrying", "parked", "discarded"]


class OutboxItemPublic(BaseModel):
    """One item of the outbox: accepted, not dispatched yet (or discarded)."""

    kind: OutboxKindName = Field(
        description="event, tag (an added tag), segment (an enter or exit) or signal "
        "(a handoff outcome or a cancel)"
    )
    id: int = Field(description="the item's id within its kind (retry and discard take both)")
    customer_id: str | None = Field(description="whose it is")
    what: str = Field(description="the event and its message id, the tag, the segment, ...")
    created_at: datetime = Field(description="when it was accepted")
    state: OutboxStateName = Field(
        description="pending (waiting for Temporal or the next sweep), retrying (its "
        "dispatch failed; tried again at next_attempt_at), parked (failed too often: "
        "retry or discard it), discarded"
    )
    attempts: int = Field(description="failed dispatches so far")
    last_error: str = Field(description="what the last failed dispatch said")
    next_attempt_at: datetime | None = Field(description="when the sweep tries it again")
    parked_at: datetime | None = Field(description="when it was parked")
    discarded_at: datetime | None = Field(description="when it was discarded")
    discarded_by: str | None = Field(description="who discarded it (api:<key name>)")


class OutboxPage(BaseModel):
    """Outbox items, oldest first, with how many of each state the page holds."""

    items: list[OutboxItemPublic] = Field(description="the items, oldest first")
    counts: dict[str, int] = Field(description="items on this page by state")


class OutboxRetried(DispatchOutcome):
    """What retrying one item did."""

    kind: OutboxKindName = Field(description="the item's kind")
    id: int = Field(description="the item's id")
    dispatched: bool = Field(description="true when it reached Temporal now")
