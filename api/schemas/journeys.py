"""Journey schemas: deployed journeys, their versions, deploys and step counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JourneyVersionPublic(BaseModel):
    """One deployed version of a journey."""

    journey_id: str = Field(description="the journey's id")
    version: int = Field(description="version number, from 1")
    deployed_at: datetime = Field(description="when it was deployed")
    checksum: str = Field(description="checksum of the definition; equal means unchanged")


class JourneyPublic(BaseModel):
    """A deployed journey: its current version and whether it is paused."""

    id: str = Field(description="the journey's id")
    name: str | None = Field(description="the journey's display name")
    current_version: int = Field(description="version new enrollments get")
    paused: bool = Field(description="true: triggers and the API enroll nobody")


class JourneyDetail(JourneyPublic):
    """A journey with every version and the current definition."""

    versions: list[JourneyVersionPublic] = Field(description="deployed versions, oldest first")
    definition: dict[str, Any] = Field(description="the current version's journey, as YAML data")


class DeployRequest(BaseModel):
    """A workspace folder (or one journey file in it) on the server to validate and deploy."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(
        min_length=1,
        max_length=4096,
        description="workspace folder (journeys/, messages/...) or one journeys/*.yaml file",
    )
    journey: str | None = Field(
        None, max_length=200, description="deploy only this journey (default: all)"
    )


class DeployResult(BaseModel):
    """The versions deployed; unchanged journeys keep their version."""

    deployed: list[JourneyVersionPublic] = Field(description="one per journey, by id")


class StepNow(BaseModel):
    """One step: who reached it, who waits there now, and what happened there."""

    reached: int = Field(description="distinct enrollments that entered the step")
    waiting_now: int | None = Field(
        description="running enrollments at this step now (Temporal visibility); null "
        "when the server answers no visibility queries (the time-skipping test server)"
    )
    sends: dict[str, int] = Field(description="provider calls made at the step, by outcome")
    handoffs: dict[str, int] = Field(
        description="handoff tasks opened at the step, by state (open, claimed, escalated, done)"
    )


class StepCounts(BaseModel):
    """What happened at each step, counted over every enrollment of the journey."""

    journey_id: str = Field(description="the journey's id")
    by_step: dict[str, StepNow] = Field(
        description="step id -> reached, waiting now, sends by outcome, handoffs by state; "
        "every step of the current version, in order, then steps only older versions had"
    )
    steps: dict[str, dict[str, int]] = Field(
        description="step id -> trace kind -> stored trace entries (kept for existing "
        "clients; entries are stored when the next activity runs, so it lags by_step)"
    )
