"""A loaded workspace and the immutable bundle one journey version runs with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from engine.models.journey import Journey, Segment
from engine.models.message import Message
from engine.models.references import messages_used, segments_used


class JourneyBundle(BaseModel):
    """One deployed journey version with the messages and segments it uses (immutable)."""

    journey: Journey
    version: int = 1
    messages: dict[str, Message] = Field(default_factory=dict)
    segments: dict[str, Segment] = Field(default_factory=dict)
    timezone: str = "Asia/Shanghai"


class Workspace(BaseModel):
    """Everything read from a workspace folder."""

    root: str
    journeys: dict[str, Journey] = Field(default_factory=dict)
    messages: dict[str, Message] = Field(default_factory=dict)
    segments: dict[str, Segment] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict, description="id -> file it came from")
    timezone: str = "Asia/Shanghai"
    documents: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="workspace-wide documents a deploy stores by name (e.g. tagging), "
        "validated and as JSON",
    )

    def bundle(self, journey_id: str, version: int = 1) -> JourneyBundle:
        """The bundle of one journey: it and every message and segment it can reach."""
        journey = self.journeys[journey_id]
        seg_ids = segments_used(journey, self.segments)
        return JourneyBundle(
            journey=journey,
            version=version,
            messages={m: self.messages[m] for m in messages_used(journey) if m in self.messages},
            segments={s: self.segments[s] for s in seg_ids if s in self.segments},
            timezone=self.timezone,
        )
