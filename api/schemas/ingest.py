"""Ingest schemas: events tracked and customers identified by other systems."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Discriminator, Field, Tag

from api.schemas.common import (
    JSON_LIMITS,
    MAX_TAGS,
    CustomerIdentities,
    DispatchOutcome,
    JsonObject,
    TagName,
)
from api.schemas.customers import ConsentCreate, GuardianCreate, MergePublic

MAX_BATCH = 500
#: A minor has a few guardians: 10 covers parents and grandparents, and keeps one
#: identify request's work (each guardian found or created, then linked) small.
MAX_GUARDIANS = 10
MAX_CONSENTS = 20


class TrackEvent(BaseModel):
    """One event that happened to a customer, e.g. appointment.paid."""

    model_config = ConfigDict(extra="forbid")

    customer: CustomerIdentities = Field(description="who it happened to (found or created)")
    event: str = Field(min_length=1, max_length=200, description="event name, e.g. form.submitted")
    properties: JsonObject = Field(
        default_factory=dict, description=f"event properties ({JSON_LIMITS})"
    )
    timestamp: AwareDatetime | None = Field(
        None, description="when it happened, with a UTC offset (default: when received)"
    )
    message_id: str = Field(
        min_length=1,
        max_length=200,
        description="the sender's unique id of this event; a repeat is stored and acted on once",
    )


class TrackBatch(BaseModel):
    """Several events, validated together: one bad event rejects the whole batch."""

    model_config = ConfigDict(extra="forbid")

    batch: list[TrackEvent] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} events, in order"
    )


def _track_kind(value: Any) -> str:
    return "TrackBatch" if isinstance(value, dict) and "batch" in value else "TrackEvent"


# The tags are the class names: errors.py drops them from error paths.
TrackBody = Annotated[
    Annotated[TrackEvent, Tag("TrackEvent")] | Annotated[TrackBatch, Tag("TrackBatch")],
    Discriminator(_track_kind),
]


class TrackAccepted(BaseModel):
    """What became of one tracked event."""

    message_id: str = Field(description="the event's message_id")
    customer_id: str = Field(description="the customer it was stored for")
    duplicate: bool = Field(description="true when this message_id was received before")


class TrackResult(DispatchOutcome):
    """The events accepted, in request order, and what they started."""

    accepted: list[TrackAccepted] = Field(description="one entry per event, in request order")


class IdentifyRequest(BaseModel):
    """Who a customer is: identities, profile attributes, tags and consents."""

    model_config = ConfigDict(extra="forbid")

    customer: CustomerIdentities = Field(description="identities (found, merged or created)")
    attributes: JsonObject = Field(
        default_factory=dict,
        description=f"profile attributes to set, e.g. name, clinic_id ({JSON_LIMITS})",
    )
    tags: list[TagName] = Field(
        default_factory=list,
        max_length=MAX_TAGS,
        description=f"tags to add (at most {MAX_TAGS}); may start tag_added journeys",
    )
    context: JsonObject = Field(
        default_factory=dict,
        description=f"context for journeys the added tags start ({JSON_LIMITS})",
    )
    consents: list[ConsentCreate] = Field(
        default_factory=list,
        max_length=MAX_CONSENTS,
        description=f"consents given or withdrawn (at most {MAX_CONSENTS})",
    )
    guardians: list[GuardianCreate] = Field(
        default_factory=list,
        max_length=MAX_GUARDIANS,
        description=(
            f"at most {MAX_GUARDIANS} "
            "guardians of this customer (a minor), e.g. the parent's phone from a school "
            "screening form: found or created, and linked once"
        ),
    )


class IdentifyResult(DispatchOutcome):
    """The customer identified and what changed."""

    customer_id: str = Field(description="the customer's id")
    created: bool = Field(description="true when no customer had these identities")
    merges: list[MergePublic] = Field(
        default_factory=list, description="customers merged into this one by these identities"
    )
    tags_added: list[str] = Field(default_factory=list, description="tags that were new")
    guardians_linked: list[str] = Field(
        default_factory=list, description="customer ids of guardians that were newly linked"
    )
    at: datetime = Field(description="server time of the change")
