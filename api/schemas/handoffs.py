"""Handoff schemas: tasks for staff (calls, visits) and their outcomes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class HandoffPublic(BaseModel):
    """A task a journey handed to staff."""

    id: str = Field(description="the task's id")
    enrollment_id: str = Field(description="the enrollment waiting for its outcome")
    customer_id: str = Field(description="the customer to contact")
    journey_id: str = Field(description="the journey that created it")
    step: str = Field(description="the handoff step")
    queue: str = Field(description="who picks it up, e.g. optometrist")
    clinic: str | None = Field(description="the clinic it belongs to")
    script: str | None = Field(description="call script")
    created_at: datetime = Field(description="when it was created")
    due_at: datetime | None = Field(description="when it escalates")
    status: str = Field(description="open, claimed, escalated or done")
    escalated_to: str | None = Field(description="queue it was escalated to")
    outcome: str | None = Field(description="outcome reported, once done")


class HandoffComplete(BaseModel):
    """The outcome staff report; the journey continues on it."""

    model_config = ConfigDict(extra="forbid")

    outcome: str = Field(
        min_length=1, max_length=200, description="one of the step's outcomes, e.g. booked"
    )
    note: str | None = Field(None, max_length=2000, description="free text for the record")


class HandoffCompleted(HandoffPublic):
    """The task once its outcome is recorded, and whether the enrollment heard of it."""

    dispatch_pending: bool = Field(
        False,
        description="true when the outcome is recorded but Temporal could not be reached: "
        "the waiting enrollment gets it, once, as soon as it can (the answer is then 202)",
    )
