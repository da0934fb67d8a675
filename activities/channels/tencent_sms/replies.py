"""Tencent Cloud SMS replies (上行短信回调): what a customer texted back.

The callback is one JSON object (or a list of them) with ``mobile``, ``nationcode``,
``text``, ``sign``, ``extend`` and ``time``. Each reply becomes an ``sms.replied``
event of the customer the number belongs to (created when unknown); an opt-out reply
also withdraws marketing consent for SMS. Tencent retries a reply it thinks was not
taken, so each is acted on once (number, time and text).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from engine.errors import CarepathError
from engine.intake.callbacks import Callback
from engine.store.records import Identities, NewEvent


def sms_replies(body: bytes, is_opt_out: Callable[[str], bool], *, now: datetime) -> list[Callback]:
    """One ``Callback`` per reply in the body."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise CarepathError("SMS reply callback is not JSON") from exc
    replies = data if isinstance(data, list) else [data]
    out = []
    for reply in replies:
        if not isinstance(reply, dict) or not reply.get("mobile"):
            continue
        mobile, text = str(reply["mobile"]), str(reply.get("text", ""))
        nationcode = str(reply.get("nationcode") or "86")
        sent = int(reply.get("time") or 0)
        at = datetime.fromtimestamp(sent, UTC) if sent else now
        key = f"sms-reply:{nationcode}{mobile}:{sent}:{text}"
        out.append(
            Callback(
                key=key,
                customer=Identities(phone=f"+{nationcode}{mobile}"),
                event=NewEvent(
                    message_id=key, name="sms.replied", properties={"text": text}, at=at
                ),
                opt_out=("sms",) if is_opt_out(text) else (),
            )
        )
    return out
