"""Chat schemas: WeCom chat records and call transcripts posted by other systems."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from api.schemas.common import CustomerIdentities, DispatchOutcome

MAX_MESSAGES = 500
Speaker = Literal["customer", "staff"]


class WeComChatRecord(BaseModel):
    """One message of a WeCom conversation with an external contact (会话存档)."""

    model_config = ConfigDict(
        extra="forbid",
        # What _a_customer checks, said in the JSON Schema.
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["external_userid"],
                    "properties": {"external_userid": {"type": "string"}},
                },
                {"required": ["customer"], "properties": {"customer": {"type": "object"}}},
            ]
        },
    )

    kind: Literal["wecom"] = Field(description="wecom")
    msgid: str = Field(min_length=1, max_length=128, description="WeCom's msgid; once each")
    external_userid: str | None = Field(
        None, min_length=1, max_length=128, description="the customer's external user id"
    )
    customer: CustomerIdentities | None = Field(
        None, description="other identities of the customer (with or instead of external_userid)"
    )
    staff_userid: str = Field(min_length=1, max_length=128, description="the staff member's userid")
    sender: Speaker = Field(description="who wrote it: customer or staff (staff lines add no tags)")
    text: str = Field(min_length=1, max_length=20_000, description="the message text")
    time: AwareDatetime | None = Field(None, description="when it was sent (default: received)")

    @model_validator(mode="after")
    def _a_customer(self) -> Self:
        if self.external_userid is None and self.customer is None:
            raise ValueError("name the customer: give external_userid or customer identities")
        return self


class TranscriptSegment(BaseModel):
    """One speaker's turn in a call."""

    model_config = ConfigDict(extra="forbid")

    speaker: Speaker = Field(description="customer or staff (staff turns add no tags)")
    text: str = Field(min_length=1, max_length=20_000, description="what was said")
    start_seconds: float | None = Field(None, ge=0, description="offset into the call")


class CallTranscript(BaseModel):
    """A call's transcript: segments by speaker, or one text (matched whole)."""

    model_config = ConfigDict(
        extra="forbid",
        # What _text_or_segments checks, said in the JSON Schema: exactly one of the two.
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["text"],
                    "properties": {"text": {"type": "string"}, "segments": {"type": "null"}},
                },
                {
                    "required": ["segments"],
                    "properties": {"segments": {"type": "array"}, "text": {"type": "null"}},
                },
            ]
        },
    )

    kind: Literal["call"] = Field(description="call")
    call_id: str = Field(min_length=1, max_length=128, description="the call's id; once each")
    customer: CustomerIdentities = Field(description="who was called (or called)")
    staff_userid: str | None = Field(None, max_length=128, description="the staff member")
    text: str | None = Field(
        None,
        min_length=1,
        max_length=100_000,
        description="the whole transcript, matched whole; send segments to match only the "
        "customer's words",
    )
    segments: list[TranscriptSegment] | None = Field(
        None, min_length=1, max_length=2000, description="turns by speaker, in order"
    )
    time: AwareDatetime | None = Field(None, description="when the call began (default: received)")

    @model_validator(mode="after")
    def _text_or_segments(self) -> Self:
        if (self.text is None) == (self.segments is None):
            raise ValueError("give either text (the whole transcript) or segments, not both")
        return self

    def customer_text(self) -> str:
        """The customer's words (the whole text when there are no segments)."""
        if self.segments is None:
            return self.text or ""
        return "\n".join(s.text for s in self.segments if s.speaker == "customer")


def _kind(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "CallTranscript" if kind == "call" else "WeComChatRecord"


# The tags are the class names: errors.py drops them from error paths.
ChatMessage = Annotated[
    Annotated[WeComChatRecord, Tag("WeComChatRecord")]
    | Annotated[CallTranscript, Tag("CallTranscript")],
    Discriminator(_kind),
]


class ChatBatch(BaseModel):
    """Messages to store and match, validated together: one bad message refuses all."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(
        min_length=1,
        max_length=MAX_MESSAGES,
        description=f"1 to {MAX_MESSAGES} WeCom chat records (kind: wecom) or call "
        "transcripts (kind: call)",
    )


class KeywordTag(BaseModel):
    """A tag a message's keywords added."""

    tag: str = Field(description="the tag added")
    rule: str = Field(description="the tagging.yaml rule (its id, or its tag)")
    matched: str = Field(description="the text that matched")


class ChatAccepted(BaseModel):
    """What became of one message."""

    message_id: str = Field(description="the event's id: wecom:chat:<msgid> or call:<call_id>")
    customer_id: str = Field(description="the customer it was stored for")
    duplicate: bool = Field(description="true when this message was received before")
    tags_added: list[KeywordTag] = Field(
        default_factory=list, description="tags the customer did not have before"
    )


class ChatResult(DispatchOutcome):
    """The messages accepted, in request order, and what their events and tags started."""

    accepted: list[ChatAccepted] = Field(description="one entry per message, in request order")
