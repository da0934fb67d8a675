"""Schedule schemas: a scheduled journey's Temporal Schedule and its recent ticks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TickPublic(BaseModel):
    """One tick: members enrolled and skipped so far (live while it runs)."""

    workflow_id: str = Field(description="the tick's workflow (journey-tick:{journey}-{time})")
    scheduled_at: datetime | None = Field(description="the cron time it stands for")
    status: str = Field(
        description="planning, enrolling, done, not_run (paused, or no zone due), "
        "failed / terminated / timed_out as Temporal reports it, or unknown (past the "
        "namespace's retention, or no worker answered)"
    )
    version: int = Field(description="the journey version it enrolls in (0: not planned yet)")
    segment: str = Field(description="the segment whose members it enrolls")
    enrolled: int = Field(description="members enrolled by this tick so far")
    skipped: int = Field(description="members passed over (entry rule, reentry) so far")
    batches: int = Field(description="batches done")
    skips: dict[str, int] = Field(description="skip reason -> members")
    reason: str = Field(description="why it did not run or stopped early")
    resumed: int = Field(description="slices resumed from a heartbeat after a worker died")


class JourneyRuns(BaseModel):
    """A scheduled journey's schedule and its most recent ticks, newest first."""

    journey_id: str = Field(description="the journey")
    schedule_id: str = Field(description="the Temporal Schedule (journey-schedule:{journey})")
    cron: str = Field(description="the journey's cron")
    timezone: str = Field(description="the cron's timezone, or customer")
    segment: str = Field(description="the segment it enrolls")
    paused: bool = Field(description="the schedule is paused (the journey is)")
    next_ticks: list[datetime] = Field(description="the next few cron times")
    ticks: list[TickPublic] = Field(description="recent ticks, newest first")
