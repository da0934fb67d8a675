"""Customer schemas: profile, identities, tags, consents, events, touches and merges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import (
    JSON_LIMITS,
    MAX_TAGS,
    CustomerIdentities,
    DispatchOutcome,
    JsonObject,
    TagName,
)
from engine.models.attribution import TouchKind


class IdentityPublic(BaseModel):
    """One way the customer is known."""

    kind: str = Field(description="phone, wechat_openid, wechat_unionid, ...")
    namespace: str = Field(description="app of a wechat_openid; empty for other kinds")
    value: str = Field(description="the identity itself")


class TagPublic(BaseModel):
    """A tag the customer has and who set it."""

    tag: str = Field(description="the tag")
    source: str = Field(description="who or what set it, e.g. api:crm or journey:payment_recovery")


class ConsentPublic(BaseModel):
    """One consent given or withdrawn."""

    purpose: str = Field(description="service, marketing or health_data")
    channel: str | None = Field(description="channel it covers; null: every channel")
    granted: bool = Field(description="true: given; false: withdrawn")
    at: datetime = Field(description="when it was recorded")


class MergePublic(BaseModel):
    """One customer merged into another because they shared an identity."""

    survivor_id: str = Field(description="the customer that remains")
    merged_id: str = Field(description="the customer merged into it (its id now redirects)")
    reason: str = Field(description="the shared identity that caused the merge")
    at: datetime = Field(description="when it happened")


class CustomerPublic(BaseModel):
    """A customer profile as staff and integrations see it."""

    id: str = Field(description="the customer's id")
    attributes: dict[str, Any] = Field(description="profile attributes, e.g. name, clinic_id")
    tags: list[TagPublic] = Field(description="tags with who set them")
    identities: list[IdentityPublic] = Field(description="every identity known")
    consents: list[ConsentPublic] = Field(description="consents, oldest first")
    source: dict[str, Any] = Field(description="first-touch attribution (channel, campaign...)")
    follows_wechat: bool = Field(description="follows our WeChat official account")
    timezone: str | None = Field(description="the customer's timezone, if not the default")
    merged_ids: list[str] = Field(description="ids of customers merged into this one")
    minor: bool = Field(False, description="a minor (minor: true, or birth_date under 14)")
    guardians: list[str] = Field(
        default_factory=list, description="current guardians' customer ids, in link order"
    )


class EventPublic(BaseModel):
    """An event stored for a customer."""

    message_id: str = Field(description="the sender's id of the event")
    name: str = Field(description="event name")
    properties: dict[str, Any] = Field(description="event properties")
    at: datetime = Field(description="when it happened")


class TagUpdate(BaseModel):
    """Tags to add and remove; added tags may start tag_added journeys."""

    model_config = ConfigDict(extra="forbid")

    add: list[TagName] = Field(
        default_factory=list, max_length=MAX_TAGS, description=f"tags to add (at most {MAX_TAGS})"
    )
    remove: list[TagName] = Field(
        default_factory=list,
        max_length=MAX_TAGS,
        description=f"tags to remove (at most {MAX_TAGS})",
    )
    context: JsonObject = Field(
        default_factory=dict,
        description="context for journeys the added tags start, e.g. {appointment_id: A-1} "
        f"({JSON_LIMITS})",
    )


class TagChangePublic(BaseModel):
    """A tag that was actually added or removed."""

    tag: str = Field(description="the tag")
    added: bool = Field(description="true: added; false: removed")
    source: str = Field(description="who changed it")


class TagUpdateResult(DispatchOutcome):
    """The tag changes made and the journeys they started."""

    changes: list[TagChangePublic] = Field(description="changes made (no-ops are left out)")


class ConsentCreate(BaseModel):
    """A consent given or withdrawn by the customer."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(
        min_length=1, max_length=64, description="service, marketing or health_data"
    )
    channel: str | None = Field(
        None, max_length=64, description="channel it covers; null: every channel"
    )
    granted: bool = Field(description="true: given; false: withdrawn")
    text_version: str | None = Field(
        None, max_length=128, description="version of the consent text shown"
    )
    at: AwareDatetime | None = Field(None, description="when it was given (default: now)")


class GuardianCreate(BaseModel):
    """A guardian to link to the customer: an existing customer, or identities to find
    (or create) one by."""

    model_config = ConfigDict(
        extra="forbid",
        # What _one checks, said in the JSON Schema: exactly one of the two is given.
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["guardian_id"],
                    "properties": {
                        "guardian_id": {"type": "string"},
                        "identities": {"type": "null"},
                    },
                },
                {
                    "required": ["identities"],
                    "properties": {
                        "identities": {"type": "object"},
                        "guardian_id": {"type": "null"},
                    },
                },
            ]
        },
    )

    guardian_id: str | None = Field(
        None, max_length=128, description="the guardian's customer id (or give identities)"
    )
    identities: CustomerIdentities | None = Field(
        None, description="or the guardian's identities (phone, openid, ...): found or created"
    )
    relation: str | None = Field(None, max_length=32, description="mother, father, ...")

    @model_validator(mode="after")
    def _one(self) -> GuardianCreate:
        if (self.guardian_id is None) == (self.identities is None):
            raise ValueError("give either guardian_id or identities")
        return self


class GuardianPublic(BaseModel):
    """One guardian link of a customer."""

    guardian_id: str = Field(description="the guardian's customer id")
    relation: str | None = Field(description="mother, father, ...")
    source: str = Field(description="who linked them")
    linked_at: datetime = Field(description="when they were linked")
    unlinked_at: datetime | None = Field(description="when the link ended (null: current)")


class SubscribeConsentCreate(BaseModel):
    """One-time subscribe-message consents the customer gave for a template (for
    example in a mini-program popup that carepath's callbacks do not see)."""

    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(
        min_length=1, max_length=128, description="subscribe-message template id"
    )
    count: int = Field(1, ge=0, le=100, description="consents given (added to the balance)")
    replace: bool = Field(False, description="true: set the balance to count instead")


class SubscribeBalancePublic(BaseModel):
    """A customer's subscribe-message balance for one template."""

    template_id: str = Field(description="subscribe-message template id")
    balance: int = Field(description="subscribe messages that may still be sent")


class TouchPublic(BaseModel):
    """One touch of a customer."""

    kind: TouchKind = Field(description="qr_scan, follow, contact_add, utm_visit or imported")
    fields: dict[str, Any] = Field(description="its attribution (channel, activity, ..., utm_*)")
    qrcode: str | None = Field(None, description="the code it came through, if carepath's")
    at: datetime = Field(description="when it happened")
