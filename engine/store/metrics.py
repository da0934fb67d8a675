"""What the store answers for a journey's metrics: aggregate counts of one cohort (the
enrollments of a journey, optionally of one version, entered in a half-open range),
never the enrollments themselves."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Cohort(BaseModel):
    """Which enrollments are counted: by journey, version and entry time."""

    journey_id: str = Field(description="the journey")
    version: int | None = Field(None, description="one version; None: every version")
    since: datetime | None = Field(None, description="entered at or after this time")
    until: datetime | None = Field(None, description="entered before this time")
    clinics: tuple[str, ...] | None = Field(
        None, description="only customers of these clinics (clinic_id); None: every clinic"
    )


class StatusCount(BaseModel):
    """Enrollments of the cohort with one status and end reason."""

    status: str = Field(description="running, completed, converted, exited or failed")
    reason: str | None = Field(description="the exit reason stored when it ended")
    count: int = Field(description="enrollments")


class ChannelSends(BaseModel):
    """One channel's attempts at one send step (from the trace, as they happened)."""

    attempted: int = Field(0, description="attempts that reached the provider")
    delivered: int = Field(0, description="delivered at once or by a later receipt")
    failed: int = Field(0, description="refused, failed, errored or no receipt in time")
    skipped: dict[str, int] = Field(default_factory=dict, description="reason -> skips")


class HandoffFigures(BaseModel):
    """Handoff tasks a step created for the cohort."""

    created: int = Field(0, description="tasks created")
    done: dict[str, int] = Field(default_factory=dict, description="outcome -> tasks done")
    overdue_now: int = Field(0, description="open tasks past their due time now")
    escalated: int = Field(0, description="tasks escalated to another queue")


class StepFigures(BaseModel):
    """What the cohort did at one step."""

    reached: int = Field(0, description="distinct enrollments with a stored entry there")
    waiting_now: int = Field(0, description="running enrollments whose current step it is")
    sends: dict[str, ChannelSends] = Field(default_factory=dict, description="per channel")
    fallbacks: int = Field(
        0, description="sends delivered on a channel after an earlier channel did not deliver"
    )
    handoffs: HandoffFigures = Field(default_factory=HandoffFigures, description="tasks")


class ArmCount(BaseModel):
    """One arm of a split step: its entrants, counted by entry cohort."""

    variant: str = Field(description="variant name, or holdout")
    entered: int = Field(description="enrollments the split put in this arm")
    converted: int = Field(description="of them, enrollments whose goal was met")
    running: int = Field(description="of them, still running")
    last_entry: datetime | None = Field(description="the latest entry time among them")


class JourneyCounts(BaseModel):
    """The cohort's counts, as aggregate queries answer them."""

    statuses: list[StatusCount] = Field(description="per status and end reason")
    steps: dict[str, StepFigures] = Field(description="per step id")
    arms: dict[str, list[ArmCount]] = Field(description="split step id -> its arms")
