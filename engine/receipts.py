"""Delivery receipts as the platforms push them, read into one shape.

WeChat posts XML events (``TEMPLATESENDJOBFINISH`` for template messages,
``subscribe_msg_sent_event`` for subscribe messages) signed with the callback token;
Tencent Cloud SMS posts a JSON array of status reports keyed by ``sid`` (the
SerialNo SendSms returned). Each becomes a ``Receipt`` matched to its delivery by
the provider's reference.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from wechatpy.utils import check_signature

from engine.errors import CarepathError


class ForgedCallback(CarepathError):
    """Raised when a callback's signature does not match the configured token."""


@dataclass(frozen=True)
class Receipt:
    provider_ref: str
    channel: str
    delivered: bool
    detail: str
    dedupe_key: str


def verify_wechat(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """Raise ForgedCallback unless the query's signature was made with our token."""
    try:
        check_signature(token, signature, timestamp, nonce)
    except Exception as exc:  # wechatpy raises InvalidSignatureException
        raise ForgedCallback("WeChat callback signature does not match the token") from exc


def _tag(xml: str, name: str) -> str | None:
    m = re.search(rf"<{name}>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</{name}>", xml, re.S)
    return m.group(1) if m else None


def wechat_receipts(xml: str) -> list[Receipt]:
    """Receipts in one WeChat event (none for other events)."""
    event = (_tag(xml, "Event") or "").strip()
    sender = _tag(xml, "FromUserName") or ""
    created = _tag(xml, "CreateTime") or ""
    if event == "TEMPLATESENDJOBFINISH":
        ref, status = _tag(xml, "MsgID") or "", (_tag(xml, "Status") or "").strip()
        return [
            Receipt(
                ref,
                "wechat_template",
                status == "success",
                "" if status == "success" else status,
                f"wx:{sender}:{created}:{ref}",
            )
        ]
    if event == "subscribe_msg_sent_event":
        ref = _tag(xml, "MsgID") or ""
        code = (_tag(xml, "ErrorCode") or "").strip()
        status = (_tag(xml, "ErrorStatus") or "").strip()
        ok = code == "0"
        return [
            Receipt(
                ref,
                "wechat_subscribe",
                ok,
                "" if ok else f"{code} {status}".strip(),
                f"wx:{sender}:{created}:{ref}",
            )
        ]
    return []


def sms_receipts(body: bytes) -> list[Receipt]:
    """Receipts in one Tencent Cloud SMS status callback (a JSON array)."""
    try:
        reports: Any = json.loads(body)
    except ValueError as exc:
        raise CarepathError("SMS status callback is not JSON") from exc
    if isinstance(reports, dict):
        reports = [reports]
    out = []
    for report in reports if isinstance(reports, list) else []:
        sid = str(report.get("sid", ""))
        ok = str(report.get("report_status", "")).upper() == "SUCCESS"
        detail = "" if ok else f"{report.get('errmsg', '')} {report.get('description', '')}".strip()
        out.append(Receipt(sid, "sms", ok, detail or ("" if ok else "FAIL"), f"sms:{sid}"))
    return out
