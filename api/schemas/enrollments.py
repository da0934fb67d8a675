"""Enrollment schemas: starting one by API, reading it with its trace, cancelling it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import JSON_LIMITS, CustomerIdentities, JsonObject


class EnrollmentCreate(BaseModel):
    """Enroll a known customer in a journey that accepts API enrollments."""

    model_config = ConfigDict(extra="forbid")

    customer: CustomerIdentities = Field(
        description="the customer: customer_id or any identity (never created here)"
    )
    context: JsonObject = Field(
        default_factory=dict,
        description=f"the enrollment's context, e.g. {{appointment_id: A-1}} ({JSON_LIMITS})",
    )


class EnrollmentStarted(BaseModel):
    """An enrollment started, or the one already running for this customer and key."""

    enrollment_id: str = Field(description="the enrollment's id (also the workflow id)")
    status: Literal["started", "already_active"] = Field(
        description="started: new; already_active: one with this key is running"
    )
    customer_id: str = Field(description="the customer enrolled")


class EnrollmentPublic(BaseModel):
    """An enrollment and its trace so far."""

    id: str = Field(description="the enrollment's id")
    journey_id: str = Field(description="the journey")
    version: int = Field(description="the journey version it runs (pinned at enrollment)")
    customer_id: str = Field(description="the customer")
    key: str | None = Field(description="the journey key's value, e.g. an appointment id")
    status: str = Field(description="running, completed, converted, exited or failed")
    exit_reason: str | None = Field(description="why it ended")
    variant: str | None = Field(description="split variant it was assigned")
    started_at: datetime = Field(description="when it started")
    ended_at: datetime | None = Field(description="when it ended")
    trace: list[dict[str, Any]] = Field(
        default_factory=list, description="what happened, step by step (only fields that are set)"
    )


class CancelRequest(BaseModel):
    """Why an enrollment is cancelled."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        "cancelled", min_length=1, max_length=500, description="recorded as the exit reason"
    )


class CancelResult(BaseModel):
    """Whether the cancel reached a running enrollment."""

    enrollment_id: str = Field(description="the enrollment")
    signalled: bool = Field(description="false when it had already ended (or not yet sent)")
    dispatch_pending: bool = Field(
        False,
        description="true when the cancel is stored but Temporal could not be reached: "
        "it is sent, once, as soon as it can",
    )
