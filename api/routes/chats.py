"""Chats: WeCom chat records and call transcripts, stored and read for keyword tags."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status

from api.deps import DispatcherDep, Ingest
from api.schemas.chats import (
    CallTranscript,
    ChatAccepted,
    ChatBatch,
    ChatResult,
    KeywordTag,
    WeComChatRecord,
)
from api.schemas.common import dispatch_fields
from engine.intake.chats import ChatLine, excerpt, ingest_chats
from engine.store.records import Identities, NewEvent

router = APIRouter(prefix="/chats", tags=["chats"])


def _wecom(record: WeComChatRecord, now: datetime) -> ChatLine:
    customer = record.customer or Identities()
    if record.external_userid:
        customer = customer.model_copy(update={"wecom_external_userid": record.external_userid})
    properties = {
        "channel": "wecom",
        "msgid": record.msgid,
        "sender": record.sender,
        "staff_userid": record.staff_userid,
        "excerpt": excerpt(record.text),
    }
    event = NewEvent(
        message_id=f"wecom:chat:{record.msgid}",
        name="chat.message",
        properties=properties,
        at=record.time or now,
    )
    words = record.text if record.sender == "customer" else ""
    return ChatLine("wecom", Identities.model_validate(customer.model_dump()), event, words)


def _call(call: CallTranscript, now: datetime) -> ChatLine:
    words = call.customer_text()
    properties = {
        "call_id": call.call_id,
        "staff_userid": call.staff_userid,
        "segments": len(call.segments or []),
        "excerpt": excerpt(words),
    }
    event = NewEvent(
        message_id=f"call:{call.call_id}",
        name="call.transcript",
        properties={k: v for k, v in properties.items() if v is not None},
        at=call.time or now,
    )
    return ChatLine("call", Identities.model_validate(call.customer.model_dump()), event, words)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ChatResult)
async def post_chats(body: ChatBatch, caller: Ingest, dispatcher: DispatcherDep) -> ChatResult:
    """Store chat messages and call transcripts (once per id); their keywords add tags."""
    now = datetime.now(UTC)
    lines = [
        _call(m, now) if isinstance(m, CallTranscript) else _wecom(m, now) for m in body.messages
    ]
    outcomes, report, pending = await ingest_chats(dispatcher, lines, now=now)
    accepted = [
        ChatAccepted(
            message_id=o.stored.message_id,
            customer_id=o.stored.customer_id,
            duplicate=not o.stored.new,
            tags_added=[KeywordTag(tag=m.tag, rule=m.rule, matched=m.matched) for m in o.added],
        )
        for o in outcomes
    ]
    return ChatResult(accepted=accepted, **dispatch_fields(report, pending))
