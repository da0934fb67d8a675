"""Tencent Cloud SMS replies (上行短信回调): what a customer texted back.

The callback is one JSON object (or a list of them) with ``mobile``, ``nationcode``,
``text``, ``sign``, ``extend`` and ``time``. Each reply becomes an ``sms.replied``
event of the customer the number belongs to; a number carepath does not know creates
no one (anyone can text the number: the reply is acknowledged and dropped). An
opt-out reply also withdraws marketing consent for SMS. Tencent retries a reply it
thinks was not taken, so each is acted on once (number, time and text). A body that
is not such a list is refused whole (422, naming the field) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from activities.channels.tencent_sms.receipts import DIGITS, MAX_ITEMS, json_items
from engine.intake.callbacks import Callback
from engine.store.records import Identities, NewEvent

#: 2100-01-01: a later ``time`` is no clock's, and would not fit a datetime everywhere.
LATEST = 4_102_444_800


class SmsReply(BaseModel):
    """One reply as Tencent posts it (unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    mobile: str = Field(pattern=DIGITS, description="the sender, without the country code")
    nationcode: str = Field("86", pattern=r"^[0-9]{0,4}$", description="country code (86)")
    text: str = Field("", max_length=2000, description="what the customer wrote")
    sign: str = Field("", max_length=64, description="the signature the reply answered")
    extend: str = Field("", max_length=64, description="the extension code, if any")
    time: int = Field(0, ge=0, le=LATEST, description="Unix seconds the reply was received")


_REPLIES: TypeAdapter[list[SmsReply]] = TypeAdapter(
    Annotated[list[SmsReply], Field(max_length=MAX_ITEMS)]
)


def sms_replies(body: bytes, is_opt_out: Callable[[str], bool], *, now: datetime) -> list[Callback]:
    """One ``Callback`` per reply in the body (each for a known customer only)."""
    out = []
    for reply in _REPLIES.validate_python(json_items(body)):
        nationcode = reply.nationcode or "86"
        at = datetime.fromtimestamp(reply.time, UTC) if reply.time else now
        key = f"sms-reply:{nationcode}{reply.mobile}:{reply.time}:{reply.text}"
        out.append(
            Callback(
                key=key,
                customer=Identities(phone=f"+{nationcode}{reply.mobile}"),
                event=NewEvent(
                    message_id=key, name="sms.replied", properties={"text": reply.text}, at=at
                ),
                opt_out=("sms",) if is_opt_out(reply.text) else (),
                known_only=True,
            )
        )
    return out
