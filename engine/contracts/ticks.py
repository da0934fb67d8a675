"""Models of a scheduled journey's tick that cross the Temporal boundary.

A ``schedule: {cron, segment}`` journey has one Temporal Schedule; each tick starts a
``ScheduledEnrollWorkflow`` that plans the tick (which version, which members' local
times match) and enrolls the segment's members in batches. Pure pydantic, importable
inside the workflow sandbox; one input and one result per workflow and activity.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SCHEDULED_WORKFLOW_NAME = "ScheduledEnrollWorkflow"
TickStatus = Literal["planning", "enrolling", "done", "not_run"]


class ScheduledEnrollInput(BaseModel):
    """What the schedule starts each tick with (the same every tick)."""

    journey_id: str
    tick_at: datetime | None = Field(
        None, description="the tick's time; None: the schedule's scheduled time for this run"
    )
    batch_size: int = Field(200, ge=1, description="members enrolled per batch")
    batches_per_slice: int = Field(
        5, ge=1, description="batches one activity runs before the workflow records progress"
    )
    plan: TickPlan | None = Field(None, description="continue-as-new: the tick's plan")
    resume: TickProgress | None = Field(None, description="continue-as-new: progress so far")


class TickPlan(BaseModel):
    """What one tick enrolls: a pinned version, a segment, and the key of the tick."""

    journey_id: str
    version: int = 0
    segment: str = ""
    tick_at: datetime
    run: bool = Field(True, description="False: nothing to do (paused, gone, no zone due)")
    reason: str = ""
    key: str | None = Field(None, description="the tick key of every member (fixed timezone)")
    zone_keys: dict[str, str] = Field(
        default_factory=dict,
        description="timezone: customer: profile timezone ('' for none) -> tick key; only "
        "members whose local cron time is due at this tick",
    )


class PlanInput(BaseModel):
    journey_id: str
    tick_at: datetime


class SliceInput(BaseModel):
    """Up to ``max_batches`` batches of members after ``cursor`` (customer ids ascend)."""

    plan: TickPlan
    cursor: str | None = None
    batch_size: int = 200
    max_batches: int = 5


class SliceResult(BaseModel):
    cursor: str | None = Field(None, description="the last customer id handled")
    done: bool = Field(False, description="no members after the cursor")
    enrolled: int = 0
    skipped: int = 0
    batches: int = 0
    skips: dict[str, int] = Field(default_factory=dict, description="skip reason -> members")
    reason: str = Field("", description="why the tick stopped early (e.g. journey paused)")
    resumed: int = Field(0, description="1 when this slice resumed from a heartbeat")


class TickProgress(BaseModel):
    """A tick so far (the workflow's ``progress`` query) and, at the end, its result."""

    journey_id: str
    version: int = 0
    segment: str = ""
    tick_at: datetime | None = None
    status: TickStatus = "planning"
    reason: str = ""
    enrolled: int = Field(0, description="members enrolled by this tick")
    skipped: int = Field(0, description="members passed over (entry rule, reentry)")
    batches: int = 0
    cursor: str | None = Field(None, description="the last customer id handled")
    skips: dict[str, int] = Field(default_factory=dict, description="skip reason -> members")
    resumed: int = Field(
        0, description="slices resumed from their last heartbeat (a worker died mid-slice)"
    )


ScheduledEnrollInput.model_rebuild()
