"""The Segment HTTP tracking API's calls, as carepath reads them.

Only what carepath acts on is checked; everything else a Segment SDK sends
(``integrations``, ``writeKey``, most of ``context``) is accepted and ignored, so an
SDK works unchanged. What is checked is checked as ``/v1/track`` and ``/v1/identify``
check it: identities at most 128 characters, phones that a message can reach, event
names and message ids at most 200, JSON objects within the usual limits.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

from api.schemas.common import JSON_LIMITS, Identity, JsonObject
from api.schemas.ingest import MAX_BATCH
from engine.store.records import normalise_phone

_IGNORE = ConfigDict(extra="ignore", populate_by_name=True)
_JSON_OBJECT: TypeAdapter[dict[str, Any]] = TypeAdapter(JsonObject)
Text = Annotated[str, Field(max_length=255)]


class SegmentCampaign(BaseModel):
    """``context.campaign``: the UTM fields of the landing URL, a UTM touch."""

    model_config = _IGNORE

    source: Text | None = Field(None, description="utm_source")
    medium: Text | None = Field(None, description="utm_medium")
    name: Text | None = Field(None, description="utm_campaign")
    term: Text | None = Field(None, description="utm_term")
    content: Text | None = Field(None, description="utm_content")


class SegmentContext(BaseModel):
    """The call's ``context``; carepath reads its ``campaign``."""

    model_config = _IGNORE

    campaign: SegmentCampaign | None = Field(None, description="UTM fields: a UTM touch")


class SegmentTraits(BaseModel):
    """An identify's traits: these four are identities, any other is a profile attribute."""

    model_config = ConfigDict(extra="allow")

    phone: Identity | None = Field(None, description="mobile number, stored as E.164")
    wechat_openid: Identity | None = Field(None, description="openid within wechat_app_id")
    wechat_app_id: Identity | None = Field(None, description="app of the openid (default: ours)")
    wechat_unionid: Identity | None = Field(None, description="unionid across our WeChat apps")

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return None if value in (None, "") else normalise_phone(value)

    @model_validator(mode="after")
    def _attributes_within_limits(self) -> SegmentTraits:
        _JSON_OBJECT.validate_python(self.model_extra or {})
        return self


class SegmentCall(BaseModel):
    """What every call has: who (userId or anonymousId), its id and its times."""

    model_config = _IGNORE

    user_id: Identity | None = Field(
        None, alias="userId", description="the clinic's own member or HIS id: identity user_id"
    )
    anonymous_id: Identity | None = Field(
        None, alias="anonymousId", description="a device or browser id: identity anonymous_id"
    )
    message_id: str | None = Field(
        None,
        alias="messageId",
        min_length=1,
        max_length=200,
        description="the sender's id of this call; a repeat is stored and acted on once",
    )
    timestamp: AwareDatetime | None = Field(None, description="when it happened")
    original_timestamp: AwareDatetime | None = Field(
        None,
        alias="originalTimestamp",
        description="when it happened by the sender's clock (corrected by sentAt)",
    )
    sent_at: AwareDatetime | None = Field(
        None, alias="sentAt", description="when the sender sent it, by its clock"
    )
    context: SegmentContext | None = Field(None, description="context; its campaign is read")

    @model_validator(mode="after")
    def _someone(self) -> Any:
        if not self.user_id and not self.anonymous_id:
            raise ValueError("give userId or anonymousId")
        return self


class SegmentTrack(SegmentCall):
    """A ``track`` call: an event that happened to the customer."""

    type: Literal["track"] = Field("track", description="track")
    event: str = Field(min_length=1, max_length=200, description="event name, e.g. form.submitted")
    properties: JsonObject = Field(
        default_factory=dict, description=f"event properties ({JSON_LIMITS})"
    )


class SegmentPage(SegmentCall):
    """A ``page`` call: the event page.viewed."""

    type: Literal["page"] = Field("page", description="page")
    name: str | None = Field(None, max_length=200, description="page name: property page")
    category: str | None = Field(None, max_length=200, description="page category")
    properties: JsonObject = Field(
        default_factory=dict, description=f"page properties ({JSON_LIMITS})"
    )


class SegmentIdentify(SegmentCall):
    """An ``identify`` call: who the customer is."""

    type: Literal["identify"] = Field("identify", description="identify")
    traits: SegmentTraits = Field(
        default_factory=SegmentTraits,
        description="phone, wechat_openid, wechat_unionid: identities; others: attributes",
    )


class SegmentOther(BaseModel):
    """A ``screen``, ``group`` or ``alias`` call in a batch: accepted, not acted on."""

    model_config = _IGNORE

    type: Literal["screen", "group", "alias"] = Field(description="screen, group or alias")


_KINDS = {
    "track": "SegmentTrack",
    "page": "SegmentPage",
    "identify": "SegmentIdentify",
    "screen": "SegmentOther",
    "group": "SegmentOther",
    "alias": "SegmentOther",
}


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return _KINDS.get(str(value.get("type")))
    return _KINDS.get(str(getattr(value, "type", "")))


# The tags are class names: api/errors.py drops them from error paths.
SegmentMessage = Annotated[
    Annotated[SegmentTrack, Tag("SegmentTrack")]
    | Annotated[SegmentPage, Tag("SegmentPage")]
    | Annotated[SegmentIdentify, Tag("SegmentIdentify")]
    | Annotated[SegmentOther, Tag("SegmentOther")],
    Discriminator(
        _kind,
        custom_error_type="segment_type",
        custom_error_message="type must be track, page, identify, screen, group or alias",
    ),
]


class SegmentBatch(BaseModel):
    """Several calls, checked together: one bad call refuses the whole batch."""

    model_config = _IGNORE

    batch: list[SegmentMessage] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} calls, in order"
    )
    sent_at: AwareDatetime | None = Field(
        None, alias="sentAt", description="when the sender sent the batch, by its clock"
    )


class SegmentResult(BaseModel):
    """Segment's answer to an accepted call."""

    success: bool = Field(description="true: stored (a repeated messageId once)")


__all__ = [
    "SegmentBatch",
    "SegmentCall",
    "SegmentIdentify",
    "SegmentMessage",
    "SegmentOther",
    "SegmentPage",
    "SegmentResult",
    "SegmentTrack",
]
