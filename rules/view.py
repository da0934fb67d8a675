"""What the rule evaluator may know about one customer: a pure, serialisable snapshot.

The store builds a :class:`CustomerView`; :func:`rules.evaluate.evaluate` reads it. It
holds JSON-shaped data only (no clock, no I/O), so it can cross the Temporal boundary.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

__all__ = ["ConsentRecord", "CustomerView", "EventRecord"]


class EventRecord(BaseModel):
    """One event the customer performed."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="The event name, e.g. form.submitted.")
    properties: dict[str, Any] = Field(
        default_factory=dict, description="The event's properties (JSON values)."
    )
    at: AwareDatetime = Field(description="When it happened (timezone-aware).")


class ConsentRecord(BaseModel):
    """One consent given (granted=true) or withdrawn (granted=false)."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=1, description="service, marketing or health_data.")
    channel: str | None = Field(
        None, description="The channel it covers; none means every channel of the purpose."
    )
    granted: bool = Field(True, description="true: given; false: withdrawn.")
    at: AwareDatetime = Field(description="When it was recorded (timezone-aware).")


class CustomerView(BaseModel):
    """A customer as rules see them: attributes, tags, events, source, consents, segments."""

    model_config = ConfigDict(extra="forbid")

    attributes: dict[str, Any] = Field(
        default_factory=dict, description="Profile attributes (JSON values, nested allowed)."
    )
    tags: set[str] = Field(default_factory=set, description="The tags the customer has now.")
    events: list[EventRecord] = Field(
        default_factory=list, description="Events the customer performed, in any order."
    )
    source: dict[str, Any] = Field(
        default_factory=dict, description="First-touch attribution fields (channel, utm_*, ...)."
    )
    consents: list[ConsentRecord] = Field(
        default_factory=list,
        description="Consent records in time order (order is not relied on: times decide).",
    )
    segments: set[str] = Field(
        default_factory=set,
        description="Ids of segments the customer is a member of; used for segment atoms "
        "when the evaluator is not given the segment definitions.",
    )

    @field_serializer("tags", "segments")
    def _sorted(self, value: set[str]) -> list[str]:
        # Sets serialise in hash order; sorted output keeps payloads and histories stable.
        return sorted(value)
